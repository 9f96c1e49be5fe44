-- TA-Lib's ATR, shared by the batch script, dispatch and the streaming update so that all give
-- the same value to the last bit. Bar 1 has no true range; the first ATR is the mean of the first
-- `period` true ranges (on bar period + 1); after that Wilder's smoothing.
-- Prices are whole price units, so every true range and the seed sum are exact.
-- @include "units"
-- @include "format"

-- @limit MAX_ATR_PERIOD 500 the longest ATR (and RSI) period: error bound of docs/FORMULAS.md

local function atr_new(period)
  return { period = period, bars = 0, prev_close = nil, tr_sum = 0, atr = nil }
end

-- Advances `state` over `count` packed bars ('<ddd' per bar: high, low, close in units) and
-- appends each seeded ATR (in price) to `series` when given. The one implementation of the
-- ATR step: the streaming update runs it on its one bar. State lives in locals during the loop,
-- and a field name is built only once a bar fails its check.
local function atr_run(state, data, count, series)
  local period, n, prev_close, tr_sum, atr = state.period, state.bars, state.prev_close, state.tr_sum, state.atr
  local keep = period - 1
  -- locals, in registers: a global and a field lookup (unpack) or an upvalue read (the limit) per bar otherwise
  local unpack, max_units, pos, high, low, close = struct.unpack, MAX_PRICE_UNITS, 1
  -- @unroll 8
  for i = 1, count do
    high, low, close, pos = unpack('<ddd', data, pos)
    -- check_bar's conditions in one chain, inline: a function call per bar costs a quarter of the loop
    if not (low >= 1 and high <= max_units and low <= close and close <= high
        and high % 1 == 0 and low % 1 == 0 and close % 1 == 0) then
      check_bar('bars[' .. (i - 1) .. ']', high, low, close)
    end
    -- The step: a checked bar into n, prev_close, tr_sum and atr, all locals wherever the build
    -- pastes it (stream_update's fast path too)
    -- @block atr_step
    n = n + 1
    if n > 1 then
      -- max(H - L, |H - C_prev|, |L - C_prev|) without function calls; exact either way
      local true_range, up, down = high - low, high - prev_close, low - prev_close
      if up < 0 then up = -up end
      if down < 0 then down = -down end
      if up > true_range then true_range = up end
      if down > true_range then true_range = down end
      if n <= period + 1 then
        tr_sum = tr_sum + true_range
        if n == period + 1 then atr = tr_sum / period end
      else
        atr = (atr * keep + true_range) / period
      end
    end
    prev_close = close
    -- @end atr_step
    if series and n > 1 and atr then series[#series + 1] = atr / PRICE_UNITS end
  end
  state.bars, state.prev_close, state.tr_sum, state.atr = n, prev_close, tr_sum, atr
end

-- Chunked runs (docs/FORMULAS.md, "Long inputs"): the state after a call, as text the next call
-- takes back: bars, prev_close, tr_sum, atr (%.17g, so each reads back as the very same double).
local function atr_state_text(state)
  return table.concat({ fmt_integer(state.bars), fmt(state.prev_close), fmt(state.tr_sum), state.atr and fmt(state.atr) or '' }, ',')
end

-- The rules of an ATR state, whoever keeps it: a chunk's state text (parse_atr_state, fields named
-- 'state.bars', ...) or the streaming state (stream_state.lua, 'atr_state.bars', ...). Its numbers
-- are what `bars` bars (a whole number in 1..max_bars) can leave: a close, a seed sum of whole true
-- ranges, and `atr` (nil exactly until period + 1 bars were seen) below the largest price. Each
-- field name is built only once its rule is broken.
local function check_atr_state(prefix, period, bars, prev_close, tr_sum, atr, max_bars)
  if not (bars >= 1 and bars <= max_bars and bars % 1 == 0) then invalid(prefix .. 'bars', 'must be a whole number in 1..' .. fmt_integer(max_bars)) end
  if not (prev_close >= 1 and prev_close <= MAX_PRICE_UNITS and prev_close % 1 == 0) then check_price_units(prefix .. 'prev_close', prev_close) end
  -- the seed sum holds a true range a bar from the second on, `period` of them at most, each below
  -- the largest price: what bars have not brought, a state cannot hold (a later call's would be refused)
  local most = math.min(bars - 1, period) * MAX_PRICE_UNITS
  if not (tr_sum >= 0 and tr_sum <= most and tr_sum % 1 == 0) then check_state_number(prefix .. 'tr_sum', tr_sum, most, true) end
  if (atr == nil) ~= (bars <= period) then invalid(prefix .. 'atr', "must be '' exactly until period + 1 bars were seen") end
  if atr and not (atr >= 0 and atr <= MAX_PRICE_UNITS) then check_state_number(prefix .. 'atr', atr, MAX_PRICE_UNITS, false) end
end

-- The state a chunk continues from: the text atr_state_text wrote.
local function parse_atr_state(s, period)
  local bars, prev_close, tr_sum, atr = string.match(s, '^([^,]*),([^,]*),([^,]*),([^,]*)$')
  if not bars then invalid('state', "must be 'start' or bars,prev_close,tr_sum,atr: " .. shown(s)) end
  local state = atr_new(period)
  state.bars = parse_decimal(bars, 'state.bars')
  state.prev_close = parse_decimal(prev_close, 'state.prev_close')
  state.tr_sum = parse_decimal(tr_sum, 'state.tr_sum')
  if atr ~= '' then state.atr = parse_decimal(atr, 'state.atr') end
  check_atr_state('state.', period, state.bars, state.prev_close, state.tr_sum, state.atr, MAX_HISTORY)
  return state
end
