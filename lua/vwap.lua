#!lua
-- @name vwap
-- @version 1.0.0
-- @key cache    pattern_cache:vwap:v1.0.0:<symbol>:<sha1 of ARGV> in DB 10
-- @arg mode     'ticks' or 'bars'
-- @arg bands    band multipliers k as comma-separated decimals in (0, 10], 1 to 5 of them: '1,2'
-- @arg points   binary little-endian doubles; ticks: '<dd' price, volume; bars: '<dddd' high,
--               low, close, volume. Prices in whole price units (0.0001), volumes whole numbers;
--               1..100000 points
-- Reply: cache, hit|miss, vwap, sigma, volume, points (each <%.17g>), band_k, band_lower,
--        band_upper (lists, in the order of the multipliers)
-- Volume-weighted average price with volume-weighted population sigma and bands VWAP +/- k sigma.
-- @include "cache"
-- @include "vwap_state"

local cached = cache_lookup(KEYS[1])
if cached then return cached end

local mode = arg_choice(1, 'mode', { 'ticks', 'bars' })
local multipliers = arg_bands(2)
local points, count = arg_packed(3, 'points', mode == 'ticks' and 2 or 4, MAX_POINTS)

local state = vwap_new()
local pos = 1
for i = 1, count do
  local field = 'points[' .. (i - 1) .. ']'
  local x, volume
  if mode == 'ticks' then
    x, volume, pos = struct.unpack('<dd', points, pos)
    check_price_units(field .. '.price', x)
    x = 3 * x
  else
    local high, low, close
    high, low, close, volume, pos = struct.unpack('<dddd', points, pos)
    check_bar(field, high, low, close)
    x = high + low + close
  end
  check_volume(field .. '.volume', volume)
  vwap_update(state, x, volume)
end
if state.weight == 0 then invalid('points', 'total volume is zero, VWAP is undefined') end

return cache_store(KEYS[1], vwap_fields(state, multipliers))
