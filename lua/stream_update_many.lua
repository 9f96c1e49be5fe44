#!lua
-- @name stream_update_many
-- @version 2.0.9
-- @no-unroll  its loops run on one point per update: written out they only lengthen its load
-- @key atr_state    indicator:atr<period>:<symbol>, a string of packed doubles in DB 10
-- @key vwap_state   indicator:vwap:<symbol>, a string of packed doubles in DB 10
-- @key rsi_state    indicator:rsi<rsi_period>:<symbol>, a string of packed doubles in DB 10
-- @arg atr_period   int[1..MAX_ATR_PERIOD]  the period the ATR key names
-- @arg rsi_period   int[2..MAX_RSI_PERIOD]  the period the RSI key names
-- @arg updates      packed(<ddddddd,[1..MAX_STREAM_UPDATES])  per update, in order: ts, seq, volume,
--                   price, high, low, close. A tick has its price in whole price units (0.0001) and
--                   0 for high, low and close; a bar 0 for the price. Limits as in stream_update.
-- @limit MAX_STREAM_UPDATES 32 updates of one symbol per call: a call of bars (ATR, RSI and VWAP each, four %.17g values a reply) holds Redis about as long as the other scripts' longest calls (bench/)
-- Reply: one flat list, 11 values per update: stream_update's positional reply without bands, with
--        '' for vwap, sigma, volume and points while the session has no volume (a list of lists
--        costs Redis a table per update to build and to send).
-- Several updates of one symbol in one atomic call, applied in order, each exactly as one
-- stream_update call would apply it: the replies equal those of the same updates sent one by one
-- (the streaming tests hold the two to the same bits). One call is all or nothing: a server that
-- turns it away (busy, loading, scripts flushed) turns all of it away, so a retry can never land
-- behind a later update of the same symbol, which is what a pipeline of single updates risks.
-- The states are read once and written once, whatever the number of updates.
-- @include "args"
-- @include "stream_apply"

local a = read_args()
local period, rsi_period = a.atr_period, a.rsi_period
check_state_keys(period, rsi_period)
local stored_atr, stored_vwap, stored_rsi = read_states()
local atr = atr_state_of(stored_atr, period)
local vwap = vwap_state_of(stored_vwap)
local rsi = rsi_state_of(stored_rsi, rsi_period)

local UPDATE_REPLY_WIDTH = 11
local replies, data, pos = {}, a.updates, 1
local atr_changed, vwap_changed, rsi_changed, new_session = false, false, false, false
-- ATR and RSI change on bars only: their texts are formatted again only when they do
local atr_text, rsi_value_text = atr.atr and fmt(atr.atr / PRICE_UNITS) or '', rsi_text(rsi)
for i = 1, a.updates_count do
  local ts, seq, volume, price, high, low, close
  ts, seq, volume, price, high, low, close, pos = struct.unpack('<ddddddd', data, pos)
  seq, volume = seq + 0, volume + 0 -- -0 becomes 0, as stream_update reads '0': the same stored bytes
  if not (ts >= MIN_EPOCH_MS and ts <= MAX_EPOCH_MS and ts % 1 == 0) then check_epoch_ms(update_field(i, 'ts'), ts) end
  if not (seq >= 0 and seq <= MAX_STREAM_COUNT and seq % 1 == 0) then invalid(update_field(i, 'seq'), 'must be a whole number in 0..' .. fmt_integer(MAX_STREAM_COUNT)) end
  if not (volume >= 0 and volume <= MAX_VOLUME and volume % 1 == 0) then check_volume(update_field(i, 'volume'), volume) end
  if price ~= 0 then -- a tick
    if not (price >= 1 and price <= MAX_PRICE_UNITS and price % 1 == 0) then check_price_units(update_field(i, 'price'), price) end
    if high ~= 0 or low ~= 0 or close ~= 0 then invalid(update_field(i, 'high'), 'must be 0 for a tick (a price and a bar in one update)') end
  else
    price = nil
    if not (low >= 1 and high <= MAX_PRICE_UNITS and low <= close and close <= high
        and high % 1 == 0 and low % 1 == 0 and close % 1 == 0) then
      check_bar(update_name(i), high, low, close)
    end
  end
  local atr_status, vwap_status, rsi_status, started
  atr_status, vwap_status, rsi_status, vwap, started = stream_apply(atr, vwap, rsi, ts, seq, price, volume, high, low, close, i)
  if atr_status == 'applied' then atr_changed, atr_text = true, atr.atr and fmt(atr.atr / PRICE_UNITS) or '' end
  if rsi_status == 'applied' then rsi_changed, rsi_value_text = true, rsi_text(rsi) end
  if vwap_status == 'applied' then vwap_changed, new_session = true, new_session or started end
  local at = UPDATE_REPLY_WIDTH * (i - 1)
  if not stream_reply(replies, at, atr_status, vwap_status, rsi_status, atr_text, atr.bars, rsi_value_text, vwap, nil) then
    replies[at + 9], replies[at + 10], replies[at + 11] = '', '', '' -- no volume yet: every update takes 11 places
  end
end
stream_write(atr, atr_changed, vwap, vwap_changed, new_session, rsi, rsi_changed)
return replies
