-- One step of the volume-weighted mean and variance, shared by the batch script and the
-- streaming update. x is a price in units (times 3 for a bar's typical price, H + L + C, which
-- stays a whole number). Values are shifted by the first x (`origin`) so the sums work on small
-- exact integers; the weighted sum is compensated (Neumaier) and the variance follows West's
-- update, never E[x^2] - E[x]^2, which cancels away about seven digits at index price levels.
-- @include "neumaier"

local function vwap_new()
  return { points = 0, origin = nil, weight = 0, sum = 0, sum_comp = 0, mean = 0, m2 = 0 }
end

local function vwap_update(state, x, volume)
  state.points = state.points + 1
  if state.origin == nil then state.origin = x end
  if volume == 0 then return end
  local d = x - state.origin
  state.sum, state.sum_comp = neumaier_add(state.sum, state.sum_comp, d * volume)
  local new_weight = state.weight + volume
  local delta = d - state.mean
  local r = delta * volume / new_weight
  state.mean = state.mean + r
  state.m2 = state.m2 + state.weight * delta * r
  state.weight = new_weight
end

-- The VWAP and sigma in the units of x; the caller checks that weight > 0.
local function vwap_mean(state)
  return state.origin + (state.sum + state.sum_comp) / state.weight
end

local function vwap_sigma(state)
  return math.sqrt(state.m2 / state.weight)
end
