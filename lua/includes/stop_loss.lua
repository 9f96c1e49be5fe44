-- Stop-loss and target on the tick grid (see docs/FORMULAS.md, "Stop-loss").
-- Its arguments are read by name (args.lua): side, entry, atr, multiplier, tick, min_fraction,
-- max_fraction, reward_ratio; what ties them together is checked here.
-- @include "units"
-- @include "format"
-- @include "grid"
-- @include "side"


local function stop_loss_params(a, atr)
  local p = {
    side = side_sign(a.side), entry = a.entry, tick = a.tick, atr = atr or a.atr, multiplier = a.multiplier,
    min_fraction = a.min_fraction, max_fraction = a.max_fraction, reward_ratio = a.reward_ratio,
  }
  if p.entry % p.tick ~= 0 then invalid('entry', 'must lie on the tick grid of ' .. fmt_units(p.tick)) end
  if not p.atr then invalid('atr', "is needed (or, in dispatch, atr_period and bars)") end
  if p.min_fraction and p.max_fraction and p.min_fraction > p.max_fraction then
    invalid('min_fraction', 'is above max_fraction')
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
  -- away from the entry, so the risk is never smaller than the model's distance; at least one
  -- tick, since a distance within GRID_SNAP of zero snaps to none and a stop at the entry is none
  local distance_ticks = ceil_on_grid(distance)
  if distance_ticks < 1 then distance_ticks = 1 end
  -- then the cap, in whole ticks toward the entry: the stop never lies beyond it. Decided on whole
  -- ticks (each rounded on the grid), never on the raw comparison above, whose doubles and the
  -- reference's exact values may fall on either side of a tie
  if p.max_fraction then
    local cap = floor_on_grid(p.max_fraction * entry_ticks)
    if cap < 1 then invalid('max_fraction', 'leaves less than one tick between the stop and the entry') end
    if distance_ticks > cap then
      if p.min_fraction and cap < ceil_on_grid(p.min_fraction * entry_ticks) then
        invalid('max_fraction', 'leaves no whole tick between the min_fraction and max_fraction distances')
      end
      distance_ticks, clamped = cap, 'max'
    end
  end
  local stop_ticks = entry_ticks - p.side * distance_ticks
  if stop_ticks <= 0 then invalid('stop', 'would be at or below zero (distance ' .. distance_ticks .. ' ticks)') end
  -- a short's stop (and a target) lies above the entry: within the largest price, every tick count stays exact
  if stop_ticks * p.tick > MAX_PRICE_UNITS then invalid('stop', 'would be above the largest price, 100000000 (distance ' .. distance_ticks .. ' ticks)') end
  local r = { stop = stop_ticks * p.tick, distance_ticks = distance_ticks, clamped = clamped }
  r.distance = distance_ticks * p.tick
  if p.reward_ratio then
    -- toward the entry, so the target is never further than the model says
    local target_ticks = entry_ticks + p.side * floor_on_grid(p.reward_ratio * distance_ticks)
    if target_ticks <= 0 then invalid('target', 'would be at or below zero') end
    if target_ticks * p.tick > MAX_PRICE_UNITS then invalid('target', 'would be above the largest price, 100000000') end
    r.target = target_ticks * p.tick
  end
  return r
end

local function stop_loss_text(r)
  return 'stop\n' .. fmt_units(r.stop)
    .. '\ntarget\n' .. (r.target and fmt_units(r.target) or '')
    .. '\ndistance\n' .. fmt_units(r.distance)
    .. '\ndistance_ticks\n' .. fmt_integer(r.distance_ticks)
    .. '\nclamped\n' .. r.clamped
end
