-- Streaming indicator state in DB 10: indicator:atr<n>:<symbol> and indicator:vwap:<symbol>, each
-- a plain string of little-endian doubles (struct.pack), both read with one MGET and each written
-- with one SET ... EX when it changed. A double is stored as it is, so a value advanced tick by
-- tick equals the batch computation to the last bit; no number is formatted or parsed on the way.
-- A key that holds no string (none yet, or the hash of %.17g text that versions before 1.2.0
-- wrote) reads as no state: the indicator starts afresh, and its next write replaces the hash.
-- @include "keys"
-- @include "atr_state"
-- @include "vwap_state"

local STATE_TTL_SECONDS = '57600' -- text: Redis takes it as it is, where a Lua number is formatted first
-- atr: period, bars, prev_close, tr_sum, atr (0 while unseeded: bars <= period), last_ts, last_seq
local ATR_LAYOUT, ATR_BYTES = '<ddddddd', 56
-- vwap: session, points, origin, weight, sum, sum_comp, mean, m2, last_ts, last_seq
local VWAP_LAYOUT, VWAP_BYTES = '<dddddddddd', 80

-- KEYS: indicator:atr<period>:<symbol> and indicator:vwap:<symbol>, the same symbol, so that a raw
-- caller cannot make an update write anywhere else. The common case (`period_text` the canonical
-- digits of the period, a symbol of the allowed characters, bare or as a whole hash tag) passes
-- with one match and one comparison; anything else goes through the checks that name the key.
local function check_state_keys(period, period_text)
  local k2 = KEYS[2]
  if period_text and k2 and not KEYS[3] then
    local digits, symbol = string.match(KEYS[1], '^indicator:atr(%d+):({?[A-Z0-9][A-Z0-9&_.%-]*}?)$')
    if digits == period_text and #symbol <= MAX_SYMBOL_LENGTH
        and (string.byte(symbol) == 123) == (string.byte(symbol, -1) == 125)
        and k2 == 'indicator:vwap:' .. symbol then
      return
    end
  end
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

-- The ATR state in `s` (the stored string, or false when the key holds none).
local function atr_state_of(s, period)
  if not s then return atr_new(period) end
  if #s ~= ATR_BYTES then invalid('atr_state', 'holds ' .. #s .. ' bytes, not the ' .. ATR_BYTES .. ' of an ATR state') end
  local p, bars, prev_close, tr_sum, atr, last_ts, last_seq = struct.unpack(ATR_LAYOUT, s)
  if p ~= period then invalid('atr_period', 'the state at this key has period ' .. fmt_integer(p)) end
  local state = { period = p, bars = bars, prev_close = prev_close, tr_sum = tr_sum, last_ts = last_ts, last_seq = last_seq }
  if bars > p then state.atr = atr end
  return state
end

local function atr_state_pack(state)
  return struct.pack(ATR_LAYOUT, state.period, state.bars, state.prev_close, state.tr_sum, state.atr or 0, state.last_ts, state.last_seq)
end

-- The VWAP state in `s` (the stored string, or false when the key holds none).
local function vwap_state_of(s)
  if not s then return vwap_new() end
  if #s ~= VWAP_BYTES then invalid('vwap_state', 'holds ' .. #s .. ' bytes, not the ' .. VWAP_BYTES .. ' of a VWAP state') end
  local state = {}
  state.session, state.points, state.origin, state.weight, state.sum, state.sum_comp, state.mean, state.m2, state.last_ts, state.last_seq =
    struct.unpack(VWAP_LAYOUT, s)
  return state
end

local function vwap_state_pack(state)
  return struct.pack(VWAP_LAYOUT, state.session, state.points, state.origin, state.weight, state.sum, state.sum_comp,
    state.mean, state.m2, state.last_ts, state.last_seq)
end

-- The VWAP and sigma of a state with positive weight, as vwap_fields computes them (the
-- streaming tests hold the two to the same bits).
local function vwap_values(state)
  return (state.origin + (state.sum + state.sum_comp) / state.weight) / VWAP_X_SCALE, math.sqrt(state.m2 / state.weight) / VWAP_X_SCALE
end

-- The reply fields for the current values of both indicators (stream_snapshot's reply, and
-- stream_update's when it is given bands).
local function stream_fields(atr, vwap, multipliers, out)
  append_fields(out, {
    'atr', atr.atr and fmt(atr.atr / PRICE_UNITS) or '',
    'atr_bars', fmt_integer(atr.bars),
    'session', vwap.session and fmt_integer(vwap.session) or '',
  })
  if vwap.weight > 0 then return vwap_fields(vwap, multipliers, out) end
  return append_fields(out, { 'vwap', '' })
end
