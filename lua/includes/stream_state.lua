-- Streaming indicator state in DB 10 hashes: indicator:atr<n>:<symbol> and indicator:vwap:<symbol>.
-- Every number is stored as %.17g text, which reads back as the very same double, so a value
-- advanced tick by tick equals the batch computation to the last bit.
-- @include "keys"
-- @include "atr_state"
-- @include "vwap_state"

local STATE_TTL_SECONDS = 57600
local ATR_FIELDS = { 'period', 'bars', 'prev_close', 'tr_sum', 'atr', 'last_ts', 'last_seq' }
local VWAP_FIELDS = { 'session', 'points', 'origin', 'weight', 'sum', 'sum_comp', 'mean', 'm2', 'last_ts', 'last_seq' }

-- The stored state as a table of numbers (absent fields stay nil), or nil if there is none.
local function state_load(key, fields)
  local values = redis.call('HMGET', key, unpack(fields))
  local state, found = {}, false
  for i, name in ipairs(fields) do
    if values[i] then
      state[name] = tonumber(values[i])
      found = true
    end
  end
  return found and state or nil
end

local function state_save(key, state, fields)
  local args = {}
  for _, name in ipairs(fields) do
    if state[name] ~= nil then
      args[#args + 1] = name
      args[#args + 1] = fmt(state[name])
    end
  end
  redis.call('HSET', key, unpack(args))
  redis.call('EXPIRE', key, STATE_TTL_SECONDS)
end

-- KEYS: indicator:atr<period>:<symbol> and indicator:vwap:<symbol>, the same symbol, so that a raw
-- caller cannot make an update write anywhere else.
local function check_state_keys(period)
  check_key_count({ 'atr_state', 'vwap_state' })
  local symbol = key_symbol(1, 'atr_state', 'indicator:atr' .. period .. ':')
  if key_symbol(2, 'vwap_state', 'indicator:vwap:') ~= symbol then
    invalid('vwap_state', 'must name the symbol of atr_state, ' .. shown(symbol))
  end
end

-- Whether (ts, seq) comes strictly after the last update the state applied.
local function is_after(state, ts, seq)
  return state.last_ts == nil or ts > state.last_ts or (ts == state.last_ts and seq > state.last_seq)
end

local function atr_state_of(key, period)
  local state = state_load(key, ATR_FIELDS)
  if not state then return atr_new(period) end
  if state.period ~= period then invalid('atr_period', 'the state at this key has period ' .. state.period) end
  return state
end

local function vwap_state_of(key)
  return state_load(key, VWAP_FIELDS) or vwap_new()
end

-- The reply fields for the current values of both indicators.
local function stream_fields(atr, vwap, multipliers, out)
  append_fields(out, {
    'atr', atr.atr and fmt(atr.atr / PRICE_UNITS) or '',
    'atr_bars', fmt_integer(atr.bars),
    'session', vwap.session and fmt_integer(vwap.session) or '',
  })
  if vwap.weight > 0 then return vwap_fields(vwap, multipliers, out) end
  return append_fields(out, { 'vwap', '' })
end
