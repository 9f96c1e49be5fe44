-- Streaming indicator state in DB 10: indicator:atr<n>:<symbol>, indicator:vwap:<symbol> and
-- indicator:rsi<n>:<symbol>, each a plain string of little-endian doubles (struct.pack), all read
-- with one MGET and each written with one SET ... EX when it changed. A double is stored as it is, so a value advanced tick by
-- tick equals the batch computation to the last bit; no number is formatted or parsed on the way.
-- A key that holds no string (none yet, or the hash of %.17g text that versions before 1.2.0
-- wrote) reads as no state: the indicator starts afresh, and its next write replaces the hash.
-- @include "keys"
-- @include "atr_state"
-- @include "vwap_state"
-- @include "rsi_state"
-- @include "stream_layout"

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

-- The RSI state in `s` (the stored string, or false when the key holds none).
local function rsi_state_of(s, period)
  if not s then return rsi_new(period) end
  if #s ~= RSI_BYTES then invalid('rsi_state', 'holds ' .. #s .. ' bytes, not the ' .. RSI_BYTES .. ' of an RSI state') end
  local p, closes, prev, gain_sum, loss_sum, avg_gain, avg_loss, last_ts, last_seq = struct.unpack(RSI_LAYOUT, s)
  if p ~= period then invalid('rsi_period', 'the state at this key has period ' .. fmt_integer(p)) end
  local state = { period = p, closes = closes, prev = prev, gain_sum = gain_sum, loss_sum = loss_sum, last_ts = last_ts, last_seq = last_seq }
  if closes > p then state.avg_gain, state.avg_loss = avg_gain, avg_loss end
  return state
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
  local state = {}
  state.session, state.points, state.origin, state.weight, state.sum, state.sum_comp, state.mean, state.m2, state.last_ts, state.last_seq =
    struct.unpack(VWAP_LAYOUT, s)
  return state
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
