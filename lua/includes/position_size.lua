-- Fixed-fractional, lot-aware position size (see docs/FORMULAS.md, "Position size").
-- ARGV from `first` on: capital, risk, entry, stop, lot_size, max_lots, max_exposure,
-- confidence, confidence_floor (max_lots, max_exposure and confidence '' when not given).
-- @include "units"
-- @include "format"
-- @include "grid"

local MAX_CAPITAL = 1e11 -- keeps money at risk (at most capital) exact in price units
local MAX_EXACT = 2 ^ 53

local function position_size_args(first, chained)
  local p = {}
  p.capital = arg_number(first, 'capital')
  if not (p.capital > 0 and p.capital <= MAX_CAPITAL) then invalid('capital', 'must be in (0, 1e11]') end
  p.risk = arg_number(first + 1, 'risk')
  if not (p.risk > 0 and p.risk <= 1) then invalid('risk', 'must be in (0, 1]') end
  if chained then
    p.entry, p.stop = chained.entry, chained.stop
  else
    p.entry = arg_price(first + 2, 'entry')
    p.stop = arg_price(first + 3, 'stop')
  end
  if p.entry == p.stop then invalid('stop', 'equals entry: the risk per unit would be zero') end
  p.lot_size = arg_integer(first + 4, 'lot_size', 1, 1e6)
  local max_lots = arg_string(first + 5, 'max_lots')
  if max_lots ~= '' then p.max_lots = arg_integer(first + 5, 'max_lots', 0, 1e9) end
  p.max_exposure = arg_optional_number(first + 6, 'max_exposure')
  if p.max_exposure and not (p.max_exposure > 0 and p.max_exposure <= 100) then
    invalid('max_exposure', 'must be in (0, 100]')
  end
  p.confidence = chained and chained.confidence or arg_optional_number(first + 7, 'confidence')
  if p.confidence and not (p.confidence >= 0 and p.confidence <= 1) then invalid('confidence', 'must be in [0, 1]') end
  p.confidence_floor = arg_number(first + 8, 'confidence_floor')
  if not (p.confidence_floor >= 0 and p.confidence_floor <= 1) then invalid('confidence_floor', 'must be in [0, 1]') end
  return p
end

local function position_size_compute(p)
  local multiplier = 1
  if p.confidence then multiplier = p.confidence_floor + (1 - p.confidence_floor) * p.confidence end
  local risk_units = math.abs(p.entry - p.stop) -- per unit of quantity, exact
  local lots = floor_on_grid(p.capital * p.risk * multiplier * PRICE_UNITS / (risk_units * p.lot_size))
  local bound_by = 'risk'
  if p.max_lots and p.max_lots < lots then lots, bound_by = p.max_lots, 'max_lots' end
  if p.max_exposure then
    local exposure_lots = floor_on_grid(p.capital * p.max_exposure * PRICE_UNITS / (p.entry * p.lot_size))
    if exposure_lots < lots then lots, bound_by = exposure_lots, 'max_exposure' end
  end
  local quantity = lots * p.lot_size
  if quantity * p.entry > MAX_EXACT then
    invalid('capital', 'the position notional would exceed ' .. fmt_units(MAX_EXACT) .. '; set max_lots or max_exposure')
  end
  return {
    lots = lots,
    quantity = quantity,
    money_at_risk = quantity * risk_units,
    notional = quantity * p.entry,
    bound_by = bound_by,
    risk_multiplier = multiplier,
  }
end

local function position_size_fields(r, fields)
  return append_fields(fields, {
    'lots', fmt_integer(r.lots),
    'quantity', fmt_integer(r.quantity),
    'money_at_risk', fmt_units(r.money_at_risk),
    'notional', fmt_units(r.notional),
    'bound_by', r.bound_by,
    'risk_multiplier', fmt(r.risk_multiplier),
  })
end
