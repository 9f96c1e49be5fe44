#!lua flags=no-writes
-- @name stream_snapshot
-- @version 1.1.0
-- @key atr_state    indicator:atr<period>:<symbol>, a hash in DB 10
-- @key vwap_state   indicator:vwap:<symbol>, a hash in DB 10
-- @arg atr_period   integer 1..500, the period the ATR key names
-- @arg bands        band multipliers as in vwap: '1,2'
-- Reply: the value fields of stream_update (atr, atr_bars, session, vwap, ...). Read-only, so it
-- may run on a replica with EVALSHA_RO.
-- @include "stream_state"

check_arg_count(2)
local period = arg_integer(1, 'atr_period', 1, 500)
check_state_keys(period)
local multipliers = arg_bands(2)
return stream_fields(atr_state_of(KEYS[1], period), vwap_state_of(KEYS[2]), multipliers, {})
