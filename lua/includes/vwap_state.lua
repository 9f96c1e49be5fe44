-- The volume-weighted mean and variance, shared by the batch script and the streaming update so
-- both give the same value to the last bit. x is three times the price in units: 3 * price for a
-- tick, H + L + C for a bar (its typical price), so x is always a whole number. Values are shifted
-- by the first x with volume (`origin`) so the sums work on small exact integers; the weighted sum is
-- compensated (TwoSum) and the variance follows West's update, never E[x^2] - E[x]^2, which
-- cancels away about seven digits at index price levels.
-- @include "units"
-- @include "format"

local VWAP_X_SCALE = 3 * PRICE_UNITS -- x / VWAP_X_SCALE is a price

-- @limit MAX_STREAM_COUNT 9e15 the largest count (bars, closes, points), total volume and seq a streaming state holds: a whole number a double holds exactly and %d prints

local function vwap_new()
  return { points = 0, origin = nil, weight = 0, sum = 0, sum_comp = 0, mean = 0, m2 = 0 }
end

-- Advances `state` over `count` packed points: ticks '<dd' (price, volume) or bars '<dddd'
-- (high, low, close, volume), prices in units. The one implementation of the VWAP step: the
-- streaming update runs it on its one point. State lives in locals during the loop, and a field
-- name is built only once a point fails its check.
local function vwap_run(state, data, count, ticks)
  local points, origin, weight, sum, comp, mean, m2 = state.points, state.origin, state.weight, state.sum, state.sum_comp, state.mean, state.m2
  -- locals, in registers: a global and a field lookup (unpack) or an upvalue read (the limits) per point otherwise
  local unpack, max_units, max_volume, pos, x, volume, high, low, close = struct.unpack, MAX_PRICE_UNITS, MAX_VOLUME, 1
  if origin == nil then -- the first point of a series: its x is the origin until a point brings volume
    if ticks then origin = 3 * unpack('<d', data) else origin = unpack('<d', data) + unpack('<d', data, 9) + unpack('<d', data, 17) end
  end
  if weight == 0 then
    -- the first point with volume is the origin (vwap_step's rule, found here so that the loop
    -- checks nothing for it): a point without volume adds nothing, and an origin far from the mean
    -- would cost the VWAP digits (docs/FORMULAS.md, "VWAP"). A point the loop refuses fails the call.
    local width, at = ticks and 16 or 32, ticks and 9 or 25
    for i = 0, count - 1 do
      if unpack('<d', data, i * width + at) > 0 then
        if ticks then origin = 3 * unpack('<d', data, i * width + 1) else origin = unpack('<d', data, i * width + 1) + unpack('<d', data, i * width + 9) + unpack('<d', data, i * width + 17) end
        break
      end
    end
  end
  if ticks then
    -- @unroll 8
    for i = 1, count do
      x, volume, pos = unpack('<dd', data, pos)
      if not (x >= 1 and x <= max_units and x % 1 == 0) then check_price_units('points[' .. (i - 1) .. '].price', x) end
      x = 3 * x
      if not (volume >= 0 and volume <= max_volume and volume % 1 == 0) then check_volume('points[' .. (i - 1) .. '].volume', volume) end
      -- The step: a checked point's x (shifted by origin) and volume into weight, sum, comp, mean
      -- and m2, all locals wherever the build pastes it (the bar loop below, stream_update's fast path)
      -- (origin: the first point with volume's x, set before the step while weight is 0)
      -- @block vwap_step
      if volume > 0 then
        local d = x - origin
        -- sum += d * volume, compensated: comp collects the exact rounding error of each addition
        -- (Knuth's TwoSum, the same error Neumaier's branch computes, without the branch), so the
        -- running value sum + comp is off by a few ulps instead of one per term; inline, as a call
        -- per point costs a fifth of the loop
        local term = d * volume
        local total = sum + term
        local back = total - sum
        comp = comp + ((sum - (total - back)) + (term - back))
        sum = total
        local new_weight = weight + volume
        local delta = d - mean
        local r = delta * volume / new_weight
        mean = mean + r
        m2 = m2 + weight * delta * r
        weight = new_weight
      end
      -- @end vwap_step
    end
  else
    -- @unroll 8
    for i = 1, count do
      high, low, close, volume, pos = unpack('<dddd', data, pos)
      -- check_bar's conditions in one chain, inline as in atr_run
      if not (low >= 1 and high <= max_units and low <= close and close <= high
          and high % 1 == 0 and low % 1 == 0 and close % 1 == 0) then
        check_bar('points[' .. (i - 1) .. ']', high, low, close)
      end
      x = high + low + close
      if not (volume >= 0 and volume <= max_volume and volume % 1 == 0) then check_volume('points[' .. (i - 1) .. '].volume', volume) end
      -- @paste "vwap_state" vwap_step
    end
  end
  state.points, state.origin, state.weight, state.sum, state.sum_comp, state.mean, state.m2 = points + count, origin, weight, sum, comp, mean, m2
end

-- The band multipliers of ARGV[index] (streaming scripts; the others read them by name).
local function arg_bands(index)
  return parse_bands(arg_string(index, 'bands'), 'bands')
end

-- The VWAP and sigma of a state with positive weight, in price.
local function vwap_values(state)
  return (state.origin + (state.sum + state.sum_comp) / state.weight) / VWAP_X_SCALE, math.sqrt(state.m2 / state.weight) / VWAP_X_SCALE
end

-- The bands' lists (fmt_list texts) in the order of the multipliers: band_k, band_lower, band_upper.
local function vwap_band_lists(vwap, sigma, multipliers)
  local band_lower, band_upper = {}, {}
  for i, k in ipairs(multipliers) do
    band_lower[i] = vwap - k * sigma
    band_upper[i] = vwap + k * sigma
  end
  return fmt_list(multipliers), fmt_list(band_lower), fmt_list(band_upper)
end

-- The reply fields of a state with positive weight: vwap, sigma, volume, points, and the bands.
local function vwap_text(state, multipliers)
  local vwap, sigma = vwap_values(state)
  local band_k, band_lower, band_upper = vwap_band_lists(vwap, sigma, multipliers)
  return 'vwap\n' .. fmt(vwap) .. '\nsigma\n' .. fmt(sigma)
    .. '\nvolume\n' .. fmt_integer(state.weight) .. '\npoints\n' .. fmt_integer(state.points)
    .. '\nband_k\n' .. band_k .. '\nband_lower\n' .. band_lower .. '\nband_upper\n' .. band_upper
end

-- Chunked runs (docs/FORMULAS.md, "Long inputs"): the state after a call as text the next call
-- takes back: points, origin, weight, sum, sum_comp, mean, m2 (%.17g: each reads back exactly).
local function vwap_state_text(state)
  return table.concat({
    fmt_integer(state.points), fmt(state.origin), fmt_integer(state.weight),
    fmt(state.sum), fmt(state.sum_comp), fmt(state.mean), fmt(state.m2),
  }, ',')
end

-- The rules of a VWAP state, whoever keeps it: a chunk's state text (parse_vwap_state, fields
-- named 'state.points', ...) or the streaming state (stream_state.lua, 'vwap_state.points', ...).
-- Its numbers are what `points` points (a whole number in 1..max_points) can leave: an origin that
-- is some point's x, a whole volume, and sums and a variance of x within the price range. Each
-- field name is built only once its rule is broken.
local function check_vwap_state(prefix, points, origin, weight, sum, sum_comp, mean, m2, max_points)
  if not (points >= 1 and points <= max_points and points % 1 == 0) then invalid(prefix .. 'points', 'must be a whole number in 1..' .. fmt_integer(max_points)) end
  if not (origin >= 3 and origin <= 3 * MAX_PRICE_UNITS and origin % 1 == 0) then invalid(prefix .. 'origin', 'must be three times a price in units') end
  -- MAX_STREAM_COUNT, which MAX_VOLUME a point keeps a chunked run far below; a stream, whose
  -- points no MAX_HISTORY bounds, could pass it
  if not (weight >= 0 and weight <= points * MAX_VOLUME and weight <= MAX_STREAM_COUNT and weight % 1 == 0) then
    invalid(prefix .. 'weight', 'must be a whole total volume of at most MAX_VOLUME a point, ' .. fmt_integer(MAX_STREAM_COUNT) .. ' in all')
  end
  if not (m2 >= 0) then invalid(prefix .. 'm2', 'must not be negative') end
  -- what the sums can hold: every x lies in [3, 3 * MAX_PRICE_UNITS], so both means do (give or
  -- take their rounding: the bounds allow a relative 1e-9), and the variance is below the square
  -- of that range; with no volume yet, all of them are 0
  local low, top = 3 * (1 - 1e-9), 3 * MAX_PRICE_UNITS * (1 + 1e-9)
  if weight == 0 then
    if not (sum == 0 and sum_comp == 0 and mean == 0 and m2 == 0) then
      invalid(prefix .. 'sum', 'sum, sum_comp, mean and m2 must be 0 while the volume is 0')
    end
  else
    local vwap = origin + (sum + sum_comp) / weight
    if not (vwap >= low and vwap <= top and math.abs(sum_comp) <= weight * top) then invalid(prefix .. 'sum', 'does not give a VWAP within the price range') end
    if not (origin + mean >= low and origin + mean <= top) then invalid(prefix .. 'mean', 'must keep the mean within the price range') end
    -- the running mean and the sums' mean are one mean, computed two ways: they part by rounding
    -- only, at most about n ulps of the largest x a run took (100,000 of 3e12: 66 units), far
    -- within 1e-9 of the price range's top
    if not (math.abs(origin + mean - vwap) <= 1e-9 * top) then invalid(prefix .. 'mean', 'must agree with the mean that sum and weight give') end
    if not (m2 <= weight * top * top) then invalid(prefix .. 'm2', 'must keep the variance below the square of the price range') end
  end
end

-- The state a chunk continues from: the text vwap_state_text wrote.
local function parse_vwap_state(s)
  local values = {}
  for text in string.gmatch(s .. ',', '([^,]*),') do values[#values + 1] = text end
  if #values ~= 7 then invalid('state', "must be 'start' or points,origin,weight,sum,sum_comp,mean,m2: " .. shown(s)) end
  local state = vwap_new()
  state.points = parse_decimal(values[1], 'state.points')
  state.origin = parse_decimal(values[2], 'state.origin')
  state.weight = parse_decimal(values[3], 'state.weight')
  state.sum = parse_decimal(values[4], 'state.sum')
  state.sum_comp = parse_decimal(values[5], 'state.sum_comp')
  state.mean = parse_decimal(values[6], 'state.mean')
  state.m2 = parse_decimal(values[7], 'state.m2')
  check_vwap_state('state.', state.points, state.origin, state.weight, state.sum, state.sum_comp, state.mean, state.m2, MAX_HISTORY)
  return state
end
