#!lua
-- @name atr
-- @version 3.0.2
-- @key cache_key  pattern_cache:atr:v3.0.2:<symbol>:<sha1 of ARGV> in DB 10
-- @arg period     int[1..MAX_ATR_PERIOD]  the smoothing period n
-- @arg series     flag  '1' to return the ATR of every bar from bar period + 1 on, '0' for the last only
-- @arg state      text  '' for a whole series in one call; for a series longer than one call takes,
--                 'start' in the first call and then the `state` the previous call replied
--                 (docs/FORMULAS.md, "Long inputs")
-- @arg bars       packed(<ddd,[1..MAX_POINTS])  per bar high, low, close, each a whole number of
--                 price units (0.0001); MAX_SERIES_POINTS with the series, and with state '' at
--                 least period + 1. Binary arguments go last, so `redis-cli -x` can send them.
-- Reply: one text, a line per field and per value (format.lua, reply_text): cache, hit|miss, atr,
--        <%.17g>, natr, <%.17g>, bars, <count so far>[, state, <text>] [, series,
--        '<%.17g>,<%.17g>,...' (one text)]; with a state other than '', atr and natr are '' until
--        period + 1 bars were seen, and series holds this call's bars only.
-- Average True Range as TA-Lib defines it (see docs/FORMULAS.md).
-- @include "cache"
local cached = cache_lookup()
if cached then return cached end
-- @include "args"
-- @include "atr_state"

local a = read_args()
local series = a.series and {} or nil
if series and a.bars_count > MAX_SERIES_POINTS then
  invalid('bars', 'at most ' .. MAX_SERIES_POINTS .. ' points per call with the series, got ' .. a.bars_count)
end
local chunked = a.state ~= ''
local state = (not chunked or a.state == 'start') and atr_new(a.period) or parse_atr_state(a.state, a.period)
check_history('bars', state.bars, a.bars_count)
atr_run(state, a.bars, a.bars_count, series)
if not chunked and state.bars < a.period + 1 then
  invalid('bars', 'needs at least period + 1 = ' .. (a.period + 1) .. ' bars, got ' .. state.bars)
end

local atr = state.atr
local reply = {
  'cache', 'miss',
  'atr', atr and fmt(atr / PRICE_UNITS) or '',
  'natr', atr and fmt(atr / state.prev_close * 100) or '',
  'bars', fmt_integer(state.bars),
}
if chunked then append_fields(reply, { 'state', atr_state_text(state) }) end
if series then append_fields(reply, { 'series', fmt_list(series) }) end
return cache_store(reply)
