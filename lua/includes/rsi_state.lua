-- TA-Lib's RSI (TA_RSI), shared by the batch script and the streaming update so that both give
-- the same value to the last bit. From the second close on, gain = max(C - C_prev, 0) and
-- loss = max(C_prev - C, 0); the first averages are the means of the first `period` gains and
-- losses (on close period + 1); after that Wilder's smoothing. RSI = 100 * (gain / (gain + loss)),
-- and 0 when both are 0. Closes are whole price units, so every change and both seed sums are exact.
-- @include "units"
-- @include "format"

-- @limit MAX_RSI_PERIOD 500 the longest RSI period, as ATR's (error bound of docs/FORMULAS.md)

local function rsi_new(period)
  return { period = period, closes = 0, prev = nil, gain_sum = 0, loss_sum = 0, avg_gain = nil, avg_loss = nil }
end

local function rsi_of(gain, loss)
  local total = gain + loss
  if total == 0 then return 0 end
  return 100 * (gain / total)
end

-- Advances `state` over `count` packed closes ('<d' per close, in units) and appends each seeded
-- RSI to `series` when given. The one implementation of the RSI step: the
-- streaming update runs it on its one bar's close. State lives in locals during the loop, and a
-- field name is built only once a close fails its check.
local function rsi_run(state, data, count, series)
  local period, n, prev, gain_sum, loss_sum, avg_gain, avg_loss =
    state.period, state.closes, state.prev, state.gain_sum, state.loss_sum, state.avg_gain, state.avg_loss
  -- locals, in registers: a global and a field lookup (unpack) or an upvalue read (the limit) per close otherwise
  local keep, unpack, max_units, pos, close = period - 1, struct.unpack, MAX_PRICE_UNITS, 1
  -- @unroll 8
  for i = 1, count do
    close, pos = unpack('<d', data, pos)
    if not (close >= 1 and close <= max_units and close % 1 == 0) then check_price_units('closes[' .. (i - 1) .. ']', close) end
    -- The step: a checked close into n, prev, the sums and the averages, all locals wherever the
    -- build pastes it (stream_update's fast path too)
    -- @block rsi_step
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
    end
    prev = close
    -- @end rsi_step
    if series and n > 1 and avg_gain then series[#series + 1] = rsi_of(avg_gain, avg_loss) end
  end
  state.closes, state.prev, state.gain_sum, state.loss_sum, state.avg_gain, state.avg_loss = n, prev, gain_sum, loss_sum, avg_gain, avg_loss
end

-- Chunked runs (docs/FORMULAS.md, "Long inputs"): the state after a call, as text the next call
-- takes back: closes, prev, gain_sum, loss_sum, avg_gain, avg_loss (%.17g, so each reads back as
-- the very same double; the averages '' until seeded).
local function rsi_state_text(state)
  return table.concat({ fmt_integer(state.closes), fmt(state.prev), fmt(state.gain_sum), fmt(state.loss_sum),
    state.avg_gain and fmt(state.avg_gain) or '', state.avg_loss and fmt(state.avg_loss) or '' }, ',')
end

-- The rules of an RSI state, whoever keeps it: a chunk's state text (parse_rsi_state, fields named
-- 'state.closes', ...) or the streaming state (stream_state.lua, 'rsi_state.closes', ...). Its
-- numbers are what `closes` closes (a whole number in 1..max_closes) can leave: a close, seed sums
-- of whole changes, and averages (nil exactly until period + 1 closes were seen) of such changes.
-- Each field name is built only once its rule is broken.
local function check_rsi_state(prefix, period, closes, prev, gain_sum, loss_sum, avg_gain, avg_loss, max_closes)
  if not (closes >= 1 and closes <= max_closes and closes % 1 == 0) then invalid(prefix .. 'closes', 'must be a whole number in 1..' .. fmt_integer(max_closes)) end
  if not (prev >= 1 and prev <= MAX_PRICE_UNITS and prev % 1 == 0) then check_price_units(prefix .. 'prev', prev) end
  -- the seed sums hold a change a close from the second on, `period` of them at most, each a gain
  -- or a loss below the largest price; the averages are means of such changes
  local changes = math.min(closes - 1, period)
  local most = changes * MAX_PRICE_UNITS
  if not (gain_sum >= 0 and gain_sum <= most and gain_sum % 1 == 0) then check_state_number(prefix .. 'gain_sum', gain_sum, most, true) end
  if not (loss_sum >= 0 and loss_sum <= most and loss_sum % 1 == 0) then check_state_number(prefix .. 'loss_sum', loss_sum, most, true) end
  if gain_sum + loss_sum > most then
    invalid(prefix .. 'gain_sum', 'and loss_sum hold more than ' .. changes .. ' changes of at most the largest price')
  end
  if (avg_gain == nil) ~= (closes <= period) or (avg_loss == nil) ~= (closes <= period) then
    invalid(prefix .. 'avg_gain', "must be '' exactly until period + 1 closes were seen")
  end
  if avg_gain then
    if not (avg_gain >= 0 and avg_gain <= MAX_PRICE_UNITS) then check_state_number(prefix .. 'avg_gain', avg_gain, MAX_PRICE_UNITS, false) end
    if not (avg_loss >= 0 and avg_loss <= MAX_PRICE_UNITS) then check_state_number(prefix .. 'avg_loss', avg_loss, MAX_PRICE_UNITS, false) end
    if avg_gain + avg_loss > MAX_PRICE_UNITS then invalid(prefix .. 'avg_gain', 'and avg_loss add up to more than the largest price') end
  end
end

-- The state a chunk continues from: the text rsi_state_text wrote.
local function parse_rsi_state(s, period)
  local fields = {}
  for text in string.gmatch(s .. ',', '([^,]*),') do fields[#fields + 1] = text end
  if #fields ~= 6 then invalid('state', "must be 'start' or closes,prev,gain_sum,loss_sum,avg_gain,avg_loss: " .. shown(s)) end
  local state = rsi_new(period)
  state.closes, state.prev = parse_decimal(fields[1], 'state.closes'), parse_decimal(fields[2], 'state.prev')
  state.gain_sum, state.loss_sum = parse_decimal(fields[3], 'state.gain_sum'), parse_decimal(fields[4], 'state.loss_sum')
  if fields[5] ~= '' then state.avg_gain = parse_decimal(fields[5], 'state.avg_gain') end
  if fields[6] ~= '' then state.avg_loss = parse_decimal(fields[6], 'state.avg_loss') end
  check_rsi_state('state.', period, state.closes, state.prev, state.gain_sum, state.loss_sum, state.avg_gain, state.avg_loss, MAX_HISTORY)
  return state
end
