-- One tick of a symbol's streaming indicators, as stream_update takes it (KEYS: ATR, VWAP and RSI
-- state; ARGV: atr_period, rsi_period, ts, seq, price, volume, '', '', '', '') and answers it
-- (its 11 values), on the same state layouts: read the three states, step the session's VWAP
-- and sigma (a tick leaves ATR and RSI, which are read for the answer), write the VWAP state.
local ts, seq = tonumber(ARGV[3]), tonumber(ARGV[4])
local price, volume = tonumber(ARGV[5]) * 10000, tonumber(ARGV[6])
local stored = redis.call('MGET', KEYS[1], KEYS[2], KEYS[3])

local atr, bars = '', 0
if stored[1] then
  local period, n, _, _, value = struct.unpack('<ddddd', stored[1])
  bars = n
  if n > period then atr = string.format('%.17g', value / 10000) end
end
local rsi = ''
if stored[3] then
  local period, closes, _, _, _, gain, loss = struct.unpack('<ddddddd', stored[3])
  if closes > period then rsi = string.format('%.17g', gain + loss == 0 and 0 or 100 * gain / (gain + loss)) end
end

-- VWAP state: session, points, origin, weight, sum, (unused), mean, m2, last ts, last seq
local ist = ts + 19800000
local day = math.floor(ist / 86400000)
local open = (ist - day * 86400000) >= 555 * 60000 -- 09:15 IST
local session, points, origin, weight, sum, unused, mean, m2, last_ts, last_seq
if stored[2] then session, points, origin, weight, sum, unused, mean, m2, last_ts, last_seq = struct.unpack('<dddddddddd', stored[2]) end
local status = 'applied'
if last_ts and (ts < last_ts or (ts == last_ts and seq <= last_seq)) then
  status = 'duplicate'
elseif not open then
  status = 'preopen'
else
  local ttl = 'KEEPTTL'
  if session ~= day then
    session, points, origin, weight, sum, unused, mean, m2, ttl = day, 0, 3 * price, 0, 0, 0, 0, 0, 'EX'
  end
  local x = 3 * price - origin
  local new_weight = weight + volume
  local r = (x - mean) * volume / new_weight
  m2 = m2 + weight * (x - mean) * r
  mean = mean + r
  sum = sum + x * volume
  weight, points, last_ts, last_seq = new_weight, points + 1, ts, seq
  local state = struct.pack('<dddddddddd', session, points, origin, weight, sum, unused, mean, m2, last_ts, last_seq)
  if ttl == 'EX' then redis.call('SET', KEYS[2], state, 'EX', 57600) else redis.call('SET', KEYS[2], state, 'KEEPTTL') end
end
if not session or weight == 0 then return { 'skipped', status, 'skipped', atr, bars, rsi, session or '', '' } end
return {
  'skipped', status, 'skipped', atr, bars, rsi, session,
  string.format('%.17g', (origin + sum / weight) / 30000), string.format('%.17g', math.sqrt(m2 / weight) / 30000), weight, points,
}
