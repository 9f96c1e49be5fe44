#!lua
-- @name vwap
-- @version 1.1.0
-- @key cache_key  pattern_cache:vwap:v1.1.0:<symbol>:<sha1 of ARGV> in DB 10
-- @arg mode       'ticks' or 'bars'
-- @arg bands      band multipliers k as comma-separated decimals in (0, 10], 1 to 5 of them: '1,2'
-- @arg state      '' for a whole series in one call; for a series longer than one call takes,
--                 'start' in the first call and then the `state` the previous call replied
--                 (docs/FORMULAS.md, "Long inputs")
-- @arg points     binary little-endian doubles; ticks: '<dd' price, volume; bars: '<dddd' high,
--                 low, close, volume. Prices in whole price units (0.0001), volumes whole numbers;
--                 1..1000 points per call
-- Reply: cache, hit|miss, vwap, sigma, volume, points (each <%.17g>), band_k, band_lower,
--        band_upper (lists, in the order of the multipliers)[, state, <text>]; with a state other
--        than '', 'vwap', '' stands for all the value fields while the volume so far is zero.
-- Volume-weighted average price with volume-weighted population sigma and bands VWAP +/- k sigma.
-- @include "cache"
local cached = cache_lookup()
if cached then return cached end
-- @include "vwap_state"

check_arg_count(4)
local ticks = arg_choice(1, 'mode', { 'ticks', 'bars' }) == 'ticks'
local multipliers = arg_bands(2)
local state_arg = arg_string(3, 'state')
local chunked = state_arg ~= ''
local state = (not chunked or state_arg == 'start') and vwap_new() or arg_vwap_state(3)
vwap_of_points(state, 4, ticks)

local reply = { 'cache', 'miss' }
if state.weight > 0 then
  vwap_fields(state, multipliers, reply)
elseif chunked then
  append_fields(reply, { 'vwap', '' })
else
  invalid('points', 'total volume is zero, VWAP is undefined')
end
if chunked then append_fields(reply, { 'state', vwap_state_text(state) }) end
return cache_store(reply)
