-- One update of a symbol's streaming indicators, as stream_update takes it (KEYS: ATR, VWAP and RSI
-- state; ARGV: atr_period, rsi_period, ts, seq, then price, volume, '', '', '' for a tick or '',
-- volume, high, low, close for a bar, then '') and answers it (its 11 values), on the same state
-- layouts: a bar steps TA-Lib's ATR and RSI (seeded by the mean of the first n, then Wilder's
-- smoothing) and writes them; a tick or a bar steps the session's VWAP and sigma (a tick of its
-- price, a bar of its typical price) and writes it.
local period, rsi_period = tonumber(ARGV[1]), tonumber(ARGV[2])
local ts, seq, volume = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[6])
local is_bar = ARGV[5] == ''
local stored = redis.call('MGET', KEYS[1], KEYS[2], KEYS[3])
local function later(last_ts, last_seq) return not last_ts or ts > last_ts or (ts == last_ts and seq > last_seq) end

-- ATR state: period, bars, previous close, sum of the first true ranges, atr, last ts, last seq;
-- RSI state: period, closes, previous close, gain sum, loss sum, average gain, average loss, last ts, last seq
local _, bars, prev_close, tr_sum, atr, atr_ts, atr_seq = period, 0, 0, 0, 0
if stored[1] then _, bars, prev_close, tr_sum, atr, atr_ts, atr_seq = struct.unpack('<ddddddd', stored[1]) end
local closes, prev, gain_sum, loss_sum, avg_gain, avg_loss, rsi_ts, rsi_seq = 0, 0, 0, 0, 0, 0
if stored[3] then _, closes, prev, gain_sum, loss_sum, avg_gain, avg_loss, rsi_ts, rsi_seq = struct.unpack('<ddddddddd', stored[3]) end
local atr_status, rsi_status, x = 'skipped', 'skipped', 0
if is_bar then
  local high, low, close = tonumber(ARGV[7]) * 10000, tonumber(ARGV[8]) * 10000, tonumber(ARGV[9]) * 10000
  x = high + low + close
  atr_status, rsi_status = 'duplicate', 'duplicate'
  if later(atr_ts, atr_seq) then
    atr_status, bars = 'applied', bars + 1
    if bars > 1 then
      local tr = math.max(high - low, math.abs(high - prev_close), math.abs(low - prev_close))
      if bars <= period + 1 then
        tr_sum = tr_sum + tr
        if bars == period + 1 then atr = tr_sum / period end
      else
        atr = (atr * (period - 1) + tr) / period
      end
    end
    prev_close = close
    redis.call('SET', KEYS[1], struct.pack('<ddddddd', period, bars, prev_close, tr_sum, atr, ts, seq), 'EX', 57600)
  end
  if later(rsi_ts, rsi_seq) then
    rsi_status, closes = 'applied', closes + 1
    if closes > 1 then
      local change = close - prev
      local gain, loss = math.max(change, 0), math.max(-change, 0)
      if closes <= rsi_period + 1 then
        gain_sum, loss_sum = gain_sum + gain, loss_sum + loss
        if closes == rsi_period + 1 then avg_gain, avg_loss = gain_sum / rsi_period, loss_sum / rsi_period end
      else
        avg_gain = (avg_gain * (rsi_period - 1) + gain) / rsi_period
        avg_loss = (avg_loss * (rsi_period - 1) + loss) / rsi_period
      end
    end
    prev = close
    redis.call('SET', KEYS[3], struct.pack('<ddddddddd', rsi_period, closes, prev, gain_sum, loss_sum, avg_gain, avg_loss, ts, seq), 'EX', 57600)
  end
else
  x = 3 * tonumber(ARGV[5]) * 10000
end

-- VWAP state: session, points, origin, weight, sum, (unused), mean, m2, last ts, last seq
local ist = ts + 19800000
local day = math.floor(ist / 86400000)
local open = (ist - day * 86400000) >= 555 * 60000 -- 09:15 IST
local session, points, origin, weight, sum, unused, mean, m2, last_ts, last_seq
if stored[2] then session, points, origin, weight, sum, unused, mean, m2, last_ts, last_seq = struct.unpack('<dddddddddd', stored[2]) end
local vwap_status = 'applied'
if not later(last_ts, last_seq) then
  vwap_status = 'duplicate'
elseif not open then
  vwap_status = 'preopen'
else
  local ttl = 'KEEPTTL'
  if session ~= day then
    session, points, origin, weight, sum, unused, mean, m2, ttl = day, 0, x, 0, 0, 0, 0, 0, 'EX'
  end
  if volume > 0 then
    local d = x - origin
    local new_weight = weight + volume
    local r = (d - mean) * volume / new_weight
    m2 = m2 + weight * (d - mean) * r
    mean = mean + r
    sum = sum + d * volume
    weight = new_weight
  end
  points, last_ts, last_seq = points + 1, ts, seq
  local state = struct.pack('<dddddddddd', session, points, origin, weight, sum, unused, mean, m2, last_ts, last_seq)
  if ttl == 'EX' then redis.call('SET', KEYS[2], state, 'EX', 57600) else redis.call('SET', KEYS[2], state, 'KEEPTTL') end
end

local atr_text = bars > period and string.format('%.17g', atr / 10000) or ''
local rsi_text = ''
if closes > rsi_period then rsi_text = string.format('%.17g', avg_gain + avg_loss == 0 and 0 or 100 * avg_gain / (avg_gain + avg_loss)) end
if not session or weight == 0 then return { atr_status, vwap_status, rsi_status, atr_text, bars, rsi_text, session or '', '' } end
return {
  atr_status, vwap_status, rsi_status, atr_text, bars, rsi_text, session,
  string.format('%.17g', (origin + sum / weight) / 30000), string.format('%.17g', math.sqrt(m2 / weight) / 30000), weight, points,
}
