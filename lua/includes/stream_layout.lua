-- The streaming states' layouts in DB 10 (stream_state.lua reads and writes them; stream_update's
-- fast path reads and writes them before that include defines its functions): each state is one
-- string of little-endian doubles.
-- atr: period, bars, prev_close, tr_sum, atr (0 while unseeded: bars <= period), last_ts, last_seq
local ATR_LAYOUT, ATR_BYTES = '<ddddddd', 56
-- vwap: session, points, origin, weight, sum, sum_comp, mean, m2, last_ts, last_seq
local VWAP_LAYOUT, VWAP_BYTES = '<dddddddddd', 80
-- rsi: period, closes, prev_close, gain_sum, loss_sum, avg_gain, avg_loss (both 0 while unseeded:
-- closes <= period), last_ts, last_seq
local RSI_LAYOUT, RSI_BYTES = '<ddddddddd', 72
