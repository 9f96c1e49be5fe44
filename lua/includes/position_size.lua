-- Fixed-fractional, lot-aware position size (see docs/FORMULAS.md, "Position size").
-- Its arguments are read by name (args.lua): capital, risk, entry, stop, lot_size, max_lots,
-- max_exposure, confidence, confidence_floor; in dispatch the chain gives stop and confidence.
-- @include "units"
-- @include "format"
-- @include "grid"

-- @limit MAX_CAPITAL 1e11 rupees: keeps money at risk (at most capital) exact in price units
-- @limit MAX_RISK 0.1 the largest fraction of capital one trade may risk (10 %): a risk of 1 meant as 1 % would stake all of it
local MAX_EXACT = 2 ^ 53

local function position_size_params(a, chained)
  local p = {
    capital = a.capital, risk = a.risk, entry = a.entry, stop = a.stop, lot_size = a.lot_size, max_lots = a.max_lots,
    max_exposure = a.max_exposure, confidence = a.confidence, confidence_floor = a.confidence_floor,
  }
  if chained then p.stop, p.confidence = chained.stop, chained.confidence end
  if p.entry == p.stop then invalid('stop', 'equals entry: the risk per unit would be zero') end
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
  -- at 2^53 and above a product may already have rounded (2^53 + 1 reads as 2^53): refused, never rounded
  if quantity * p.entry >= MAX_EXACT then
    invalid('capital', 'the position notional would reach ' .. fmt_units(MAX_EXACT) .. '; set max_lots or max_exposure')
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

local function position_size_text(r)
  return 'lots\n' .. fmt_integer(r.lots)
    .. '\nquantity\n' .. fmt_integer(r.quantity)
    .. '\nmoney_at_risk\n' .. fmt_units(r.money_at_risk)
    .. '\nnotional\n' .. fmt_units(r.notional)
    .. '\nbound_by\n' .. r.bound_by
    .. '\nrisk_multiplier\n' .. fmt(r.risk_multiplier)
end
