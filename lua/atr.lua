#!lua
-- @name atr
-- @version 1.1.0
-- @key cache_key  pattern_cache:atr:v1.1.0:<symbol>:<sha1 of ARGV> in DB 10
-- @arg period     integer 1..500
-- @arg series     '1' to return the ATR of every bar from bar period + 1 on, '0' for the last only
-- @arg state      '' for a whole series in one call; for a series longer than one call takes,
--                 'start' in the first call and then the `state` the previous call replied
--                 (docs/FORMULAS.md, "Long inputs")
-- @arg bars       binary, per bar three little-endian doubles '<ddd': high, low, close, each a
--                 whole number of price units (0.0001); 1..1000 bars per call (1..500 with the
--                 series), and with state '' at least period + 1. Binary arguments go last, so
--                 `redis-cli -x` can send them.
-- Reply: cache, hit|miss, atr, <%.17g>, natr, <%.17g>, bars, <count so far>[, state, <text>]
--        [, series, {<%.17g>...}]; with a state other than '', atr and natr are '' until
--        period + 1 bars were seen, and series holds this call's bars only.
-- Average True Range as TA-Lib defines it (see docs/FORMULAS.md).
-- @include "cache"
local cached = cache_lookup()
if cached then return cached end
-- @include "atr_state"

check_arg_count(4)
local period = arg_integer(1, 'period', 1, 500)
local series = arg_flag(2, 'series') and {} or nil
local state_arg = arg_string(3, 'state')
local chunked = state_arg ~= ''
local state = (not chunked or state_arg == 'start') and atr_new(period) or arg_atr_state(3, period)
atr_of_bars(state, 4, series)
if not chunked and state.bars < period + 1 then
  invalid('bars', 'needs at least period + 1 = ' .. (period + 1) .. ' bars, got ' .. state.bars)
end

local atr = state.atr
local reply = {
  'cache', 'miss',
  'atr', atr and fmt(atr / PRICE_UNITS) or '',
  'natr', atr and fmt(atr / state.prev_close * 100) or '',
  'bars', fmt_integer(state.bars),
}
if chunked then append_fields(reply, { 'state', atr_state_text(state) }) end
if series then append_fields(reply, { 'series', series }) end
return cache_store(reply)
