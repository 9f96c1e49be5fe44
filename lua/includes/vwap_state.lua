-- One step of the volume-weighted mean and variance, shared by the batch script and the
-- streaming update so both give the same value to the last bit. x is three times the price in
-- units: 3 * price for a tick, H + L + C for a bar (its typical price), so x is always a whole
-- number. Values are shifted by the first x (`origin`) so the sums work on small exact integers;
-- the weighted sum is compensated (Neumaier) and the variance follows West's update, never
-- E[x^2] - E[x]^2, which cancels away about seven digits at index price levels.
-- @include "neumaier"
-- @include "units"
-- @include "format"

local VWAP_X_SCALE = 3 * PRICE_UNITS -- x / VWAP_X_SCALE is a price

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

-- Band multipliers k from comma-separated decimals in (0, 10], one to five of them.
local function arg_bands(index)
  local multipliers = {}
  for text in string.gmatch(arg_string(index, 'bands') .. ',', '([^,]*),') do
    local field = 'bands[' .. #multipliers .. ']'
    local k = parse_decimal(text, field)
    if not (k > 0 and k <= 10) then invalid(field, 'must be in (0, 10]') end
    multipliers[#multipliers + 1] = k
  end
  if #multipliers > 5 then invalid('bands', 'at most 5 multipliers') end
  return multipliers
end

-- The reply fields of a state with positive weight: vwap, sigma, volume, points, bands.
local function vwap_fields(state, multipliers, fields)
  local vwap = (state.origin + (state.sum + state.sum_comp) / state.weight) / VWAP_X_SCALE
  local sigma = math.sqrt(state.m2 / state.weight) / VWAP_X_SCALE
  local band_k, band_lower, band_upper = {}, {}, {}
  for i, k in ipairs(multipliers) do
    band_k[i] = fmt(k)
    band_lower[i] = fmt(vwap - k * sigma)
    band_upper[i] = fmt(vwap + k * sigma)
  end
  return append_fields(fields, {
    'vwap', fmt(vwap), 'sigma', fmt(sigma), 'volume', fmt_integer(state.weight), 'points', fmt_integer(state.points),
    'band_k', band_k, 'band_lower', band_lower, 'band_upper', band_upper,
  })
end
