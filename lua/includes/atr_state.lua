-- One step of TA-Lib's ATR, shared by the batch script and the streaming update so that both
-- give the same value to the last bit. Bar 1 has no true range; the first ATR is the mean of the
-- first `period` true ranges (on bar period + 1); after that Wilder's smoothing.
-- Prices are whole price units, so every true range and the seed sum are exact.

local function atr_new(period)
  return { period = period, bars = 0, prev_close = nil, tr_sum = 0, atr = nil }
end

local function atr_update(state, high, low, close)
  state.bars = state.bars + 1
  if state.bars > 1 then
    local prev_close = state.prev_close
    local true_range = math.max(high - low, math.abs(high - prev_close), math.abs(low - prev_close))
    local ranges = state.bars - 1
    if ranges <= state.period then
      state.tr_sum = state.tr_sum + true_range
      if ranges == state.period then state.atr = state.tr_sum / state.period end
    else
      state.atr = (state.atr * (state.period - 1) + true_range) / state.period
    end
  end
  state.prev_close = close
end

-- ATR over the packed bars of ARGV[index] ('<ddd' per bar: high, low, close in units).
-- Returns the final state, the last close and, if asked, the series as %.17g text.
-- @include "units"
-- @include "format"
local function atr_of_bars(period, index, want_series)
  local bars, count = arg_packed(index, 'bars', 3, MAX_POINTS)
  if count < period + 1 then
    invalid('bars', 'needs at least period + 1 = ' .. (period + 1) .. ' bars, got ' .. count)
  end
  local state = atr_new(period)
  local series = {}
  local pos, high, low, close = 1
  for i = 1, count do
    high, low, close, pos = struct.unpack('<ddd', bars, pos)
    check_bar('bars[' .. (i - 1) .. ']', high, low, close)
    atr_update(state, high, low, close)
    if want_series and state.atr then series[#series + 1] = fmt(state.atr / PRICE_UNITS) end
  end
  return state, close, count, series
end
