-- Rounding onto a grid of whole steps (price ticks, lots). A value within GRID_SNAP of a grid
-- point counts as on it, so that 1.5 * ATR 0.1 (0.15000000000000002 in doubles) gives a stop
-- distance of exactly 3 ticks of 0.05, not 4. Both Lua and the TypeScript reference snap.
local GRID_SNAP = 1e-9

local function snap_to_grid(q)
  local n = math.floor(q + 0.5)
  if math.abs(q - n) <= GRID_SNAP then return n end
  return q
end

local function floor_on_grid(q)
  return math.floor(snap_to_grid(q))
end

local function ceil_on_grid(q)
  return math.ceil(snap_to_grid(q))
end
