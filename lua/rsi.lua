#!lua
-- @name rsi
-- @version 3.0.6
-- @key cache_key  pattern_cache:rsi:v3.0.6:<symbol>:<sha1 of ARGV> in DB 10
-- @arg period     int[2..MAX_RSI_PERIOD]  the smoothing period n
-- @arg series     flag  '1' to return the RSI of every close from close n + 1 on, '0' for the last only
-- @arg state      text  '' for a whole series in one call; for a longer series 'start' in the first
--                 call, then the `state` the previous call replied (docs/FORMULAS.md, "Long inputs")
-- @arg closes     packed(<d,[1..MAX_POINTS])  closes in whole price units (0.0001), oldest first;
--                 MAX_SERIES_POINTS with the series, and with state '' at least period + 1
-- Reply: one text, a line per field and per value (format.lua): cache, hit|miss, rsi,
--        avg_gain, avg_loss (price), closes (count so far)[, state, <text>] [, series,
--        '<%.17g>,<%.17g>,...' (one text)]; with a state other than '', the values are '' until
--        seeded.
-- Relative Strength Index as TA-Lib's TA_RSI defines it (docs/FORMULAS.md, "RSI"): the first
-- averages are the means of the first n gains and losses (on close n + 1), then Wilder's
-- smoothing; RSI = 100 * (gain / (gain + loss)), and 0 when both are 0.
-- @include "cache"
local cached = cache_lookup()
if cached then return cached end
-- @include "args"
-- @include "rsi_state"

local a = read_args()
local period, count = a.period, a.closes_count
local series = a.series and {} or nil
if series and count > MAX_SERIES_POINTS then
  invalid('closes', 'at most ' .. MAX_SERIES_POINTS .. ' points per call with the series, got ' .. count)
end
local chunked = a.state ~= ''
local state = (not chunked or a.state == 'start') and rsi_new(period) or parse_rsi_state(a.state, period)
check_history('closes', state.closes, count)
-- the one RSI step, shared with stream_update (lua/includes/rsi_state.lua)
rsi_run(state, a.closes, count, series)
if not chunked and state.closes < period + 1 then
  invalid('closes', 'needs at least period + 1 = ' .. (period + 1) .. ' closes, got ' .. state.closes)
end

local avg_gain, avg_loss = state.avg_gain, state.avg_loss
local fields = 'rsi\n' .. (avg_gain and fmt(rsi_of(avg_gain, avg_loss)) or '')
  .. '\navg_gain\n' .. (avg_gain and fmt(avg_gain / PRICE_UNITS) or '')
  .. '\navg_loss\n' .. (avg_loss and fmt(avg_loss / PRICE_UNITS) or '')
  .. '\ncloses\n' .. fmt_integer(state.closes)
if chunked then fields = fields .. '\nstate\n' .. rsi_state_text(state) end
if series then fields = fields .. '\nseries\n' .. fmt_list(series) end
return cache_store(fields)
