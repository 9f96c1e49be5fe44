-- TA-Lib's ATR, shared by the batch script, dispatch and the streaming update so that all give
-- the same value to the last bit. Bar 1 has no true range; the first ATR is the mean of the first
-- `period` true ranges (on bar period + 1); after that Wilder's smoothing.
-- Prices are whole price units, so every true range and the seed sum are exact.
-- @include "units"
-- @include "format"

-- One bar on plain values (no table, so the batch loop keeps its state in locals): returns the
-- new bar count, seed sum and ATR (nil until seeded).
local function atr_step(period, bars, prev_close, tr_sum, atr, high, low, close)
  bars = bars + 1
  if bars > 1 then
    -- max(H - L, |H - C_prev|, |L - C_prev|), without function calls: exact either way
    local true_range = high - low
    local up, down = high - prev_close, low - prev_close
    if up < 0 then up = -up end
    if down < 0 then down = -down end
    if up > true_range then true_range = up end
    if down > true_range then true_range = down end
    local ranges = bars - 1
    if ranges <= period then
      tr_sum = tr_sum + true_range
      if ranges == period then atr = tr_sum / period end
    else
      atr = (atr * (period - 1) + true_range) / period
    end
  end
  return bars, tr_sum, atr
end

local function atr_new(period)
  return { period = period, bars = 0, prev_close = nil, tr_sum = 0, atr = nil }
end

local function atr_update(state, high, low, close)
  state.bars, state.tr_sum, state.atr = atr_step(state.period, state.bars, state.prev_close, state.tr_sum, state.atr, high, low, close)
  state.prev_close = close
end

-- Advances `state` over the packed bars of ARGV[index] ('<ddd' per bar: high, low, close in
-- units); appends each seeded ATR to `series` (as %.17g text) when given.
local function atr_of_bars(state, index, series)
  local bars, count = arg_packed(index, 'bars', 3, MAX_POINTS)
  local period, n, prev_close, tr_sum, atr = state.period, state.bars, state.prev_close, state.tr_sum, state.atr
  local pos, high, low, close = 1
  for i = 1, count do
    high, low, close, pos = struct.unpack('<ddd', bars, pos)
    if not is_bar(high, low, close) then check_bar('bars[' .. (i - 1) .. ']', high, low, close) end
    n, tr_sum, atr = atr_step(period, n, prev_close, tr_sum, atr, high, low, close)
    prev_close = close
    if series and atr then series[#series + 1] = fmt(atr / PRICE_UNITS) end
  end
  state.bars, state.prev_close, state.tr_sum, state.atr = n, prev_close, tr_sum, atr
end

-- Chunked runs (docs/FORMULAS.md, "Long inputs"): the state after a call, as text the next call
-- takes back: bars, prev_close, tr_sum, atr (%.17g, so each reads back as the very same double).
local function atr_state_text(state)
  return table.concat({ fmt_integer(state.bars), fmt(state.prev_close), fmt(state.tr_sum), state.atr and fmt(state.atr) or '' }, ',')
end

-- The state a chunk continues from: ARGV[index] as atr_state_text wrote it.
local function arg_atr_state(index, period)
  local s = arg_string(index, 'state')
  local bars, prev_close, tr_sum, atr = string.match(s, '^([^,]*),([^,]*),([^,]*),([^,]*)$')
  if not bars then invalid('state', "must be 'start' or bars,prev_close,tr_sum,atr: " .. shown(s)) end
  local state = atr_new(period)
  state.bars = parse_decimal(bars, 'state.bars')
  if not (state.bars >= 1 and state.bars <= MAX_HISTORY and state.bars % 1 == 0) then invalid('state.bars', 'must be a whole number in 1..' .. MAX_HISTORY) end
  state.prev_close = parse_decimal(prev_close, 'state.prev_close')
  check_price_units('state.prev_close', state.prev_close)
  state.tr_sum = parse_decimal(tr_sum, 'state.tr_sum')
  if not (state.tr_sum >= 0 and state.tr_sum <= period * MAX_PRICE_UNITS and state.tr_sum % 1 == 0) then
    invalid('state.tr_sum', 'must be a whole number of units in 0..period * 1e12')
  end
  if (atr == '') ~= (state.bars <= period) then invalid('state.atr', "must be '' exactly until period + 1 bars were seen") end
  if atr ~= '' then
    state.atr = parse_decimal(atr, 'state.atr')
    if not (state.atr >= 0 and state.atr <= MAX_PRICE_UNITS) then invalid('state.atr', 'must be in 0..1e12 units') end
  end
  return state
end
