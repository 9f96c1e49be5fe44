-- Streaming indicator state in DB 10: indicator:atr<n>:<symbol>, indicator:vwap:<symbol> and
-- indicator:rsi<n>:<symbol>, each a plain string of little-endian doubles (struct.pack), all read
-- with one MGET and each written with one SET ... EX when it changed. A double is stored as it is, so a value advanced tick by
-- tick equals the batch computation to the last bit; no number is formatted or parsed on the way.
-- A key that holds no string (none yet, or the hash of %.17g text that versions before 1.2.0
-- wrote) reads as no state: the indicator starts afresh, and its next write replaces the hash. A
-- key of any other type (a stream, a list, a set, ...) is refused naming its slot (read_states:
-- MATHD_INVALID atr_state, vwap_state, rsi_state), and a stored state whose numbers no series of
-- updates can leave (check_atr_state, check_rsi_state, check_vwap_state and the rules below)
-- naming the field (atr_state.<field>, ...), both before anything is written: names whose entries
-- the tick consumer keeps pending (src/streaming/tickConsumer.ts), as for a state of the wrong length.
-- @include "keys"
-- @include "atr_state"
-- @include "vwap_state"
-- @include "rsi_state"
-- @include "stream_layout"
-- @include "session"

local STATE_TTL_SECONDS = TTL_SECONDS_TEXT -- the build writes a limit's value as text: Redis takes it as it is

-- KEYS: indicator:atr<period>:<symbol>, indicator:vwap:<symbol> and indicator:rsi<rsi_period>:<symbol>,
-- one symbol, so that a raw caller cannot make an update write anywhere else. The common case
-- (the periods' arguments ARGV[1] and ARGV[2] in canonical digits, a symbol of the allowed
-- characters, bare or as a whole hash tag) passes with one match and a few comparisons; anything
-- else (a period sent as '014' too: its key must still say atr14) goes through the checks that
-- name the key.
local function check_state_keys(period, rsi_period)
  local k2, k3, period_text, rsi_period_text = KEYS[2], KEYS[3], ARGV[1], ARGV[2]
  if string.find(period_text, '^[1-9]%d*$') and string.find(rsi_period_text, '^[1-9]%d*$')
      and k2 and k3 and not KEYS[4] and #KEYS[1] <= MAX_KEY_LENGTH then
    local digits, symbol = string.match(KEYS[1], '^indicator:atr(%d+):({?[A-Z0-9][A-Z0-9&_.%-]*}?)$')
    if digits == period_text and #symbol <= MAX_SYMBOL_LENGTH
        and (string.byte(symbol) == 123) == (string.byte(symbol, -1) == 125)
        and k2 == 'indicator:vwap:' .. symbol and k3 == 'indicator:rsi' .. rsi_period_text .. ':' .. symbol then
      return
    end
  end
  check_key_count({ 'atr_state', 'vwap_state', 'rsi_state' })
  local symbol = key_symbol(1, 'atr_state', 'indicator:atr' .. period .. ':')
  if key_symbol(2, 'vwap_state', 'indicator:vwap:') ~= symbol then
    invalid('vwap_state', 'must name the symbol of atr_state, ' .. shown(symbol))
  end
  if key_symbol(3, 'rsi_state', 'indicator:rsi' .. rsi_period .. ':') ~= symbol then
    invalid('rsi_state', 'must name the symbol of atr_state, ' .. shown(symbol))
  end
end

-- What a streaming state counts (bars, closes, points) and a session's volume are bound by
-- MAX_STREAM_COUNT (vwap_state.lua), not MAX_HISTORY: a liquid symbol's session can bring more
-- ticks, and an ATR fed bars around the clock never expires.

-- The slots of KEYS, for the checks that name them.
local STATE_SLOTS = { 'atr_state', 'vwap_state', 'rsi_state' }

-- The three stored states (false for a key without one), read with one MGET. MGET answers nil for a
-- key of another type as for a missing one, so when a slot comes back nil one EXISTS of the three
-- keys tells whether something is there, and a TYPE per such slot then what: only nothing or the
-- pre-1.2.0 hash reads as no state; anything else is refused, naming the slot, before anything is
-- written (an update replaced it with a string, and stream_snapshot reported it empty).
local function read_states()
  local stored = redis.call('MGET', KEYS[1], KEYS[2], KEYS[3])
  local a, v, r = stored[1], stored[2], stored[3]
  if not (a and v and r) and redis.call('EXISTS', KEYS[1], KEYS[2], KEYS[3]) > (a and 1 or 0) + (v and 1 or 0) + (r and 1 or 0) then
    for i = 1, 3 do
      if not stored[i] then
        local kind = redis.call('TYPE', KEYS[i])['ok']
        if kind ~= 'none' and kind ~= 'hash' then invalid(STATE_SLOTS[i], 'holds a value of another type (' .. kind .. '), not a streaming state') end
      end
    end
  end
  return a, v, r
end

-- The (ts, seq) of the last update a stored state applied: what the scripts take as ts and seq.
local function check_stream_order(prefix, last_ts, last_seq)
  if not (last_ts >= MIN_EPOCH_MS and last_ts <= MAX_EPOCH_MS and last_ts % 1 == 0) then check_epoch_ms(prefix .. 'last_ts', last_ts) end
  if not (last_seq >= 0 and last_seq <= MAX_STREAM_COUNT and last_seq % 1 == 0) then invalid(prefix .. 'last_seq', 'must be a whole number in 0..' .. fmt_integer(MAX_STREAM_COUNT)) end
end

-- A stored state's period: the key's, or refused (a whole one names the call's period, as the key does).
local function check_stored_period(slot, field, stored, period, max_period)
  if stored ~= period then
    if not (stored >= 1 and stored <= max_period and stored % 1 == 0) then invalid(slot .. '.period', 'must be a whole number in 1..' .. max_period) end
    invalid(field, 'the state at this key has period ' .. fmt_integer(stored))
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
  check_stored_period('atr_state', 'atr_period', p, period, MAX_ATR_PERIOD)
  if not (bars > p) then atr = nil end -- stored as 0 until seeded
  check_atr_state('atr_state.', p, bars, prev_close, tr_sum, atr, MAX_STREAM_COUNT)
  check_stream_order('atr_state.', last_ts, last_seq)
  return { period = p, bars = bars, prev_close = prev_close, tr_sum = tr_sum, atr = atr, last_ts = last_ts, last_seq = last_seq }
end

local function atr_state_pack(state)
  return struct.pack(ATR_LAYOUT, state.period, state.bars, state.prev_close, state.tr_sum, state.atr or 0, state.last_ts, state.last_seq)
end

-- The RSI state in `s` (the stored string, or false when the key holds none).
local function rsi_state_of(s, period)
  if not s then return rsi_new(period) end
  if #s ~= RSI_BYTES then invalid('rsi_state', 'holds ' .. #s .. ' bytes, not the ' .. RSI_BYTES .. ' of an RSI state') end
  local p, closes, prev, gain_sum, loss_sum, avg_gain, avg_loss, last_ts, last_seq = struct.unpack(RSI_LAYOUT, s)
  check_stored_period('rsi_state', 'rsi_period', p, period, MAX_RSI_PERIOD)
  if not (closes > p) then avg_gain, avg_loss = nil, nil end -- both stored as 0 until seeded
  check_rsi_state('rsi_state.', p, closes, prev, gain_sum, loss_sum, avg_gain, avg_loss, MAX_STREAM_COUNT)
  check_stream_order('rsi_state.', last_ts, last_seq)
  return { period = p, closes = closes, prev = prev, gain_sum = gain_sum, loss_sum = loss_sum, avg_gain = avg_gain, avg_loss = avg_loss,
    last_ts = last_ts, last_seq = last_seq }
end

local function rsi_state_pack(state)
  return struct.pack(RSI_LAYOUT, state.period, state.closes, state.prev, state.gain_sum, state.loss_sum,
    state.avg_gain or 0, state.avg_loss or 0, state.last_ts, state.last_seq)
end

-- The RSI of a state as text, '' until seeded.
local function rsi_text(state)
  return state.avg_gain and fmt(rsi_of(state.avg_gain, state.avg_loss)) or ''
end

-- The VWAP state in `s` (the stored string, or false when the key holds none).
local function vwap_state_of(s)
  if not s then return vwap_new() end
  if #s ~= VWAP_BYTES then invalid('vwap_state', 'holds ' .. #s .. ' bytes, not the ' .. VWAP_BYTES .. ' of a VWAP state') end
  local session, points, origin, weight, sum, sum_comp, mean, m2, last_ts, last_seq = struct.unpack(VWAP_LAYOUT, s)
  if not (session >= MIN_SESSION and session <= MAX_SESSION and session % 1 == 0) then
    invalid('vwap_state.session', 'must be a whole number of days in ' .. MIN_SESSION .. '..' .. MAX_SESSION .. ', the IST dates of the times taken')
  end
  check_vwap_state('vwap_state.', points, origin, weight, sum, sum_comp, mean, m2, MAX_STREAM_COUNT)
  check_stream_order('vwap_state.', last_ts, last_seq)
  return { session = session, points = points, origin = origin, weight = weight, sum = sum, sum_comp = sum_comp, mean = mean, m2 = m2,
    last_ts = last_ts, last_seq = last_seq }
end

local function vwap_state_pack(state)
  return struct.pack(VWAP_LAYOUT, state.session, state.points, state.origin, state.weight, state.sum, state.sum_comp,
    state.mean, state.m2, state.last_ts, state.last_seq)
end

-- The reply fields for the current values of the indicators (stream_snapshot's reply).
local function stream_text(atr, vwap, rsi, multipliers)
  return 'atr\n' .. (atr.atr and fmt(atr.atr / PRICE_UNITS) or '')
    .. '\natr_bars\n' .. fmt_integer(atr.bars)
    .. '\nrsi\n' .. rsi_text(rsi)
    .. '\nsession\n' .. (vwap.session and fmt_integer(vwap.session) or '')
    .. '\n' .. (vwap.weight > 0 and vwap_text(vwap, multipliers) or 'vwap\n')
end
