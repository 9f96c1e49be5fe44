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
