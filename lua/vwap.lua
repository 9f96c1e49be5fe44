#!lua
-- @name vwap
-- @version 3.0.7
-- @key cache_key  pattern_cache:vwap:v3.0.7:<symbol>:<sha1 of ARGV> in DB 10
-- @arg mode       enum(ticks|bars)  what the points are
-- @arg bands      bands  band multipliers k as comma-separated decimals in (0, 10], 1 to 5 of them: '1,2'
-- @arg state      text  '' for a whole series in one call; for a series longer than one call takes,
--                 'start' in the first call and then the `state` the previous call replied
--                 (docs/FORMULAS.md, "Long inputs")
-- @arg points     bytes  binary little-endian doubles (their width depends on the mode); ticks: '<dd' price, volume; bars: '<dddd' high,
--                 low, close, volume. Prices in whole price units (0.0001), volumes whole numbers;
--                 1..MAX_POINTS points per call
-- Reply: one text, a line per field and per value (format.lua): cache, hit|miss, vwap,
--        sigma, volume, points (each <%.17g>), band_k, band_lower, band_upper (comma-separated
--        lists, in the order of the multipliers)[, state, <text>]; with a state other than '',
--        'vwap', '' stands for all the value fields while the volume so far is zero.
-- Volume-weighted average price with volume-weighted population sigma and bands VWAP +/- k sigma.
-- @include "cache"
local cached = cache_lookup()
if cached then return cached end
-- @include "args"
-- @include "vwap_state"

local a = read_args()
local ticks = a.mode == 'ticks'
local multipliers = a.bands
local chunked = a.state ~= ''
local state = (not chunked or a.state == 'start') and vwap_new() or parse_vwap_state(a.state)
local count = check_packed(a.points, 'points', ticks and 2 or 4, MAX_POINTS)
check_history('points', state.points, count)
vwap_run(state, a.points, count, ticks)

local fields
if state.weight > 0 then
  fields = vwap_text(state, multipliers)
elseif chunked then
  fields = 'vwap\n'
else
  invalid('points', 'total volume is zero, VWAP is undefined')
end
if chunked then fields = fields .. '\nstate\n' .. vwap_state_text(state) end
return cache_store(fields)
