-- Stop-loss and target on the tick grid (see docs/FORMULAS.md, "Stop-loss").
-- ARGV from `first` on: side, entry, atr, multiplier, tick, min_fraction, max_fraction,
-- reward_ratio (the last three '' when not given).
-- @include "units"
-- @include "format"
-- @include "grid"
-- @include "side"


local function stop_loss_args(first, atr_override)
  local p = {}
  p.side = arg_side(first)
  p.entry = arg_price(first + 1, 'entry')
  p.tick = arg_price(first + 4, 'tick')
  if p.entry % p.tick ~= 0 then invalid('entry', 'must lie on the tick grid of ' .. fmt_units(p.tick)) end
  p.atr = atr_override or arg_number(first + 2, 'atr')
  if not (p.atr > 0) then invalid('atr', 'must be positive') end
  p.multiplier = arg_number(first + 3, 'multiplier')
  if not (p.multiplier > 0 and p.multiplier <= 100) then invalid('multiplier', 'must be in (0, 100]') end
  p.min_fraction = arg_optional_number(first + 5, 'min_fraction')
  p.max_fraction = arg_optional_number(first + 6, 'max_fraction')
  for _, name in ipairs({ 'min_fraction', 'max_fraction' }) do
    local f = p[name]
    if f and not (f > 0 and f < 1) then invalid(name, 'must be in (0, 1)') end
  end
  if p.min_fraction and p.max_fraction and p.min_fraction > p.max_fraction then
    invalid('min_fraction', 'is above max_fraction')
  end
  p.reward_ratio = arg_optional_number(first + 7, 'reward_ratio')
  if p.reward_ratio and not (p.reward_ratio > 0 and p.reward_ratio <= 100) then
    invalid('reward_ratio', 'must be in (0, 100]')
  end
  return p
end

-- All arithmetic is in ticks: the entry is a whole number of them, so only the distance rounds.
local function stop_loss_compute(p)
  local entry_ticks = p.entry / p.tick
  local distance = p.multiplier * p.atr * PRICE_UNITS / p.tick
  local clamped = 'none'
  if p.min_fraction and distance < p.min_fraction * entry_ticks then
    distance, clamped = p.min_fraction * entry_ticks, 'min'
  end
  if p.max_fraction and distance > p.max_fraction * entry_ticks then
    distance, clamped = p.max_fraction * entry_ticks, 'max'
  end
  -- away from the entry, so the risk is never smaller than the model's distance
  local distance_ticks = ceil_on_grid(distance)
  local stop_ticks = entry_ticks - p.side * distance_ticks
  if stop_ticks <= 0 then invalid('stop', 'would be at or below zero (distance ' .. distance_ticks .. ' ticks)') end
  local r = { stop = stop_ticks * p.tick, distance_ticks = distance_ticks, clamped = clamped }
  r.distance = distance_ticks * p.tick
  if p.reward_ratio then
    -- toward the entry, so the target is never further than the model says
    local target_ticks = entry_ticks + p.side * floor_on_grid(p.reward_ratio * distance_ticks)
    if target_ticks <= 0 then invalid('target', 'would be at or below zero') end
    r.target = target_ticks * p.tick
  end
  return r
end

local function stop_loss_fields(r, fields)
  return append_fields(fields, {
    'stop', fmt_units(r.stop),
    'target', r.target and fmt_units(r.target) or '',
    'distance', fmt_units(r.distance),
    'distance_ticks', fmt_integer(r.distance_ticks),
    'clamped', r.clamped,
  })
end
