#!lua
-- @name stream_update
-- @version 1.1.0
-- @key atr_state    indicator:atr<period>:<symbol>, a hash in DB 10
-- @key vwap_state   indicator:vwap:<symbol>, a hash in DB 10
-- @arg atr_period   integer 1..500, the period the ATR key names
-- @arg ts           exchange timestamp, whole epoch ms
-- @arg seq          sequence number, whole, 0..9e15; (ts, seq) orders the updates of a symbol
-- @arg price        trade price text for a tick; '' for a bar
-- @arg volume       whole number 0..1e10
-- @arg high         price text for a bar; '' for a tick
-- @arg low          price text for a bar; '' for a tick
-- @arg close        price text for a bar; '' for a tick
-- @arg bands        band multipliers as in vwap: '1,2'
-- Reply: atr_status, vwap_status, then atr ('' until seeded), atr_bars, session, and vwap, sigma,
--        volume, points, band_k, band_lower, band_upper (vwap '' while the session has no volume).
-- Statuses: applied; duplicate (at or before the last applied (ts, seq): ignored, never counted
-- twice); preopen (VWAP: before 09:15 IST, ignored); skipped (ATR: a tick is not a bar).
-- One tick or bar advances both indicators of one symbol atomically; cost is independent of the
-- history behind it. VWAP starts afresh at the first tick of a new IST trading date.
-- @include "stream_state"
-- @include "session"

check_arg_count(9)
local period = arg_integer(1, 'atr_period', 1, 500)
check_state_keys(period)
local ts = arg_number(2, 'ts')
check_epoch_ms('ts', ts)
local seq = arg_integer(3, 'seq', 0, 9e15)
local is_bar = arg_string(6, 'high') ~= ''
local high, low, close, price
if is_bar then
  if arg_string(4, 'price') ~= '' then invalid('price', "send '' for a bar: its price is the typical price") end
  high, low, close = arg_price(6, 'high'), arg_price(7, 'low'), arg_price(8, 'close')
  check_bar('', high, low, close)
else
  price = arg_price(4, 'price')
  if arg_string(7, 'low') ~= '' or arg_string(8, 'close') ~= '' then invalid('high', 'a bar needs high, low and close') end
end
local volume = arg_integer(5, 'volume', 0, MAX_VOLUME)
local multipliers = arg_bands(9)

local atr = atr_state_of(KEYS[1], period)
local vwap = vwap_state_of(KEYS[2])

local atr_status = 'skipped'
if is_bar then
  if is_after(atr, ts, seq) then
    atr_run(atr, struct.pack('<ddd', high, low, close), 1, nil)
    atr.period, atr.last_ts, atr.last_seq = period, ts, seq
    atr_status = 'applied'
  else
    atr_status = 'duplicate'
  end
end

local vwap_status
local session, open = session_of(ts)
if not is_after(vwap, ts, seq) then
  vwap_status = 'duplicate'
elseif not open then
  vwap_status = 'preopen'
else
  if vwap.session ~= session then vwap = vwap_new() end
  -- the batch script's own loop, on this one point
  if is_bar then vwap_run(vwap, struct.pack('<dddd', high, low, close, volume), 1, false)
  else vwap_run(vwap, struct.pack('<dd', price, volume), 1, true) end
  vwap.session, vwap.last_ts, vwap.last_seq = session, ts, seq
  vwap_status = 'applied'
end

-- the reply is built (and every value checked finite) before anything is written
local reply = stream_fields(atr, vwap, multipliers, { 'atr_status', atr_status, 'vwap_status', vwap_status })
if atr_status == 'applied' then state_save(KEYS[1], atr, ATR_FIELDS) end
if vwap_status == 'applied' then state_save(KEYS[2], vwap, VWAP_FIELDS) end
return reply
