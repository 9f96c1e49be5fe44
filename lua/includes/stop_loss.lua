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
  -- k * ATR away from the entry, rounded away from it, so the risk is never smaller than the
  -- model's; at least one tick, since a distance within GRID_SNAP of zero snaps to none and a stop
  -- at the entry is none. The bounds are whole ticks too, and compared as such: never the raw
  -- distances, whose doubles and the reference's exact values may fall on either side of a tie
  local distance_ticks = ceil_on_grid(p.multiplier * p.atr * PRICE_UNITS / p.tick)
  if distance_ticks < 1 then distance_ticks = 1 end
  local clamped = 'none'
  -- the min fraction's distance, rounded away from the entry too
  local min_ticks = p.min_fraction and ceil_on_grid(p.min_fraction * entry_ticks)
  if min_ticks and min_ticks > distance_ticks then distance_ticks, clamped = min_ticks, 'min' end
  -- the cap, rounded toward the entry: the stop never lies beyond it
  if p.max_fraction then
    local cap = floor_on_grid(p.max_fraction * entry_ticks)
    if cap < 1 then invalid('max_fraction', 'leaves less than one tick between the stop and the entry') end
    if distance_ticks > cap then
      if min_ticks and cap < min_ticks then invalid('max_fraction', 'leaves no whole tick between the min_fraction and max_fraction distances') end
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
