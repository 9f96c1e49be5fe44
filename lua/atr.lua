#!lua
-- @name atr
-- @version 1.0.0
-- @key cache    pattern_cache:atr:v1.0.0:<symbol>:<sha1 of ARGV> in DB 10
-- @arg period   integer 1..500
-- @arg series   '1' to return the ATR of every bar from bar period + 1 on, '0' for the last only
-- @arg bars     binary, per bar three little-endian doubles '<ddd': high, low, close, each a
--               whole number of price units (0.0001); period + 1 .. 100000 bars. Binary
--               arguments go last, so `redis-cli -x` and `redis-benchmark -x` can send them.
-- Reply: cache, hit|miss, atr, <%.17g>, natr, <%.17g>, bars, <count>[, series, {<%.17g>...}]
-- Average True Range as TA-Lib defines it (see docs/FORMULAS.md).
-- @include "cache"
-- @include "atr_state"

local cached = cache_lookup(KEYS[1])
if cached then return cached end

local period = arg_integer(1, 'period', 1, 500)
local want_series = arg_flag(2, 'series')
local state, last_close, count, series = atr_of_bars(period, 3, want_series)

local fields = {
  'atr', fmt(state.atr / PRICE_UNITS),
  'natr', fmt(state.atr / last_close * 100),
  'bars', fmt_integer(count),
}
if want_series then
  fields[#fields + 1] = 'series'
  fields[#fields + 1] = series
end
return cache_store(KEYS[1], fields)
