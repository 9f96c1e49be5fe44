#!lua flags=no-writes
-- @name stream_snapshot
-- @version 1.2.0
-- @key atr_state    indicator:atr<period>:<symbol>, a string of packed doubles in DB 10
-- @key vwap_state   indicator:vwap:<symbol>, a string of packed doubles in DB 10
-- @arg atr_period   int[1..MAX_ATR_PERIOD]  the period the ATR key names
-- @arg bands        bands  band multipliers as in vwap: '1,2'
-- Reply: the value fields of stream_update (atr, atr_bars, session, vwap, ...), with the bands,
-- every number as text. Read-only, so it may run on a replica with EVALSHA_RO.
-- @include "stream_state"

check_arg_count(2)
local period = arg_integer(1, 'atr_period', 1, MAX_ATR_PERIOD)
check_state_keys(period, nil)
local multipliers = arg_bands(2)
local stored = redis.call('MGET', KEYS[1], KEYS[2])
return stream_fields(atr_state_of(stored[1], period), vwap_state_of(stored[2]), multipliers, {})
