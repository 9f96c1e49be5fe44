#!lua
-- @name rsi
-- @version 1.0.0
-- @key cache_key  pattern_cache:rsi:v1.0.0:<symbol>:<sha1 of ARGV> in DB 10
-- @limit MAX_RSI_PERIOD 500 the longest RSI period, as ATR's
-- @arg period     int[2..MAX_RSI_PERIOD]  the smoothing period n
-- @arg series     flag  '1' to return the RSI of every close from close n + 1 on, '0' for the last only
-- @arg state      text  '' for a whole series in one call; for a longer series 'start' in the first
--                 call, then the `state` the previous call replied (docs/FORMULAS.md, "Long inputs")
-- @arg closes     packed(<d,[1..MAX_POINTS])  closes in whole price units (0.0001), oldest first;
--                 MAX_SERIES_POINTS with the series, and with state '' at least period + 1
-- Reply: cache, hit|miss, rsi, avg_gain, avg_loss (price), closes (count so far)[, state, <text>]
--        [, series, {<%.17g>...}]; with a state other than '', the values are '' until seeded.
-- Relative Strength Index as TA-Lib's TA_RSI defines it (docs/FORMULAS.md, "RSI"): the first
-- averages are the means of the first n gains and losses (on close n + 1), then Wilder's
-- smoothing; RSI = 100 * (gain / (gain + loss)), and 0 when both are 0.
-- @include "cache"
local cached = cache_lookup()
if cached then return cached end
-- @include "args"
-- @include "format"

local a = read_args(ARGS)
local period, count = a.period, a.closes_count
local series = a.series and {} or nil
if series and count > MAX_SERIES_POINTS then
  invalid('closes', 'at most ' .. MAX_SERIES_POINTS .. ' points per call with the series, got ' .. count)
end
local chunked = a.state ~= ''

-- the running state: closes seen, last close, sums of the first n gains and losses, averages
local n, prev, gain_sum, loss_sum, avg_gain, avg_loss = 0, nil, 0, 0, nil, nil
if chunked and a.state ~= 'start' then
  local fields = {}
  for text in string.gmatch(a.state .. ',', '([^,]*),') do fields[#fields + 1] = text end
  if #fields ~= 6 then invalid('state', "must be 'start' or closes,prev,gain_sum,loss_sum,avg_gain,avg_loss: " .. shown(a.state)) end
  n, prev = parse_decimal(fields[1], 'state.closes'), parse_decimal(fields[2], 'state.prev')
  gain_sum, loss_sum = parse_decimal(fields[3], 'state.gain_sum'), parse_decimal(fields[4], 'state.loss_sum')
  if not (n >= 1 and n <= MAX_HISTORY and n % 1 == 0) then invalid('state.closes', 'must be a whole number in 1..' .. MAX_HISTORY) end
  check_price_units('state.prev', prev)
  if (fields[5] == '') ~= (n <= period) or (fields[6] == '') ~= (n <= period) then
    invalid('state.avg_gain', "must be '' exactly until period + 1 closes were seen")
  end
  if n > period then avg_gain, avg_loss = parse_decimal(fields[5], 'state.avg_gain'), parse_decimal(fields[6], 'state.avg_loss') end
end

local function rsi_of(gain, loss)
  local total = gain + loss
  if total == 0 then return 0 end
  return 100 * (gain / total)
end

local data, keep, format, pos, close = a.closes, period - 1, string.format, 1
for i = 1, count do
  close, pos = struct.unpack('<d', data, pos)
  if not (close >= 1 and close <= MAX_PRICE_UNITS and close % 1 == 0) then check_price_units('closes[' .. (i - 1) .. ']', close) end
  n = n + 1
  if n > 1 then
    local change, gain, loss = close - prev, 0, 0
    if change > 0 then gain = change else loss = -change end
    if n <= period + 1 then
      gain_sum, loss_sum = gain_sum + gain, loss_sum + loss
      if n == period + 1 then avg_gain, avg_loss = gain_sum / period, loss_sum / period end
    else
      avg_gain = (avg_gain * keep + gain) / period
      avg_loss = (avg_loss * keep + loss) / period
    end
    if series and avg_gain then series[#series + 1] = format('%.17g', rsi_of(avg_gain, avg_loss)) end
  end
  prev = close
end
if not chunked and n < period + 1 then
  invalid('closes', 'needs at least period + 1 = ' .. (period + 1) .. ' closes, got ' .. n)
end

local reply = {
  'cache', 'miss',
  'rsi', avg_gain and fmt(rsi_of(avg_gain, avg_loss)) or '',
  'avg_gain', avg_gain and fmt(avg_gain / PRICE_UNITS) or '',
  'avg_loss', avg_loss and fmt(avg_loss / PRICE_UNITS) or '',
  'closes', fmt_integer(n),
}
if chunked then
  append_fields(reply, { 'state', table.concat({ fmt_integer(n), fmt(prev), fmt(gain_sum), fmt(loss_sum), avg_gain and fmt(avg_gain) or '', avg_loss and fmt(avg_loss) or '' }, ',') })
end
if series then append_fields(reply, { 'series', series }) end
return cache_store(reply)
