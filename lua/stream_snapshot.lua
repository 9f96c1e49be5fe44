#!lua flags=no-writes
-- @name stream_snapshot
-- @version 2.0.8
-- @key atr_state    indicator:atr<period>:<symbol>, a string of packed doubles in DB 10
-- @key vwap_state   indicator:vwap:<symbol>, a string of packed doubles in DB 10
-- @key rsi_state    indicator:rsi<rsi_period>:<symbol>, a string of packed doubles in DB 10
-- @arg atr_period   int[1..MAX_ATR_PERIOD]  the period the ATR key names
-- @arg rsi_period   int[2..MAX_RSI_PERIOD]  the period the RSI key names
-- @arg bands        bands  band multipliers as in vwap: '1,2'
-- Reply: one text, a line per field and per value (format.lua): the value fields of
--        stream_update (atr, atr_bars, rsi ('' until seeded), session, vwap, ...), with the bands,
--        every number as text. Read-only, so it may run on a replica with EVALSHA_RO.
-- @include "stream_state"

check_arg_count(3)
local period = arg_integer(1, 'atr_period', 1, MAX_ATR_PERIOD)
local rsi_period = arg_integer(2, 'rsi_period', 2, MAX_RSI_PERIOD)
check_state_keys(period, rsi_period)
local multipliers = arg_bands(3)
local stored_atr, stored_vwap, stored_rsi = read_states()
return stream_text(atr_state_of(stored_atr, period), vwap_state_of(stored_vwap), rsi_state_of(stored_rsi, rsi_period), multipliers)
