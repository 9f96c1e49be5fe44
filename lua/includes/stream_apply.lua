-- Applying updates to the streaming states and answering for them: what stream_update's general
-- path does for its one update and stream_update_many for each of its updates, in one place.
-- @include "stream_state"
-- @include "session"

-- Names update i of stream_update_many (counted from 0, as the SDK's messages do); built only
-- once a check has failed.
local function update_name(i)
  return 'updates[' .. (i - 1) .. ']'
end

-- The field `name` of update i: 'updates[2].volume', or for i nil (stream_update's one update) 'volume'.
local function update_field(i, name)
  return i and update_name(i) .. '.' .. name or name
end

-- One update applied to the three states in memory (the caller writes them): a bar (`price` nil)
-- advances ATR and RSI by its close, and a tick or a bar the session VWAP, each only when (ts, seq)
-- comes after the last update that indicator applied. Every argument is checked already; `i` is
-- the update's place in stream_update_many's call (nil for stream_update), for a refusal's field.
-- Returns the three statuses, the VWAP state after it (a new one when the update started a
-- session) and whether it started one (the state's TTL then starts afresh).
local function stream_apply(atr, vwap, rsi, ts, seq, price, volume, high, low, close, i)
  local is_bar = price == nil
  local atr_status, rsi_status = 'skipped', 'skipped'
  if is_bar then
    if is_after(atr, ts, seq) then
      atr_run(atr, struct.pack('<ddd', high, low, close), 1, nil)
      atr.last_ts, atr.last_seq, atr_status = ts, seq, 'applied'
    else
      atr_status = 'duplicate'
    end
    -- RSI of the bar closes: rsi.lua's own step (lua/includes/rsi_state.lua) on this one close
    if is_after(rsi, ts, seq) then
      rsi_run(rsi, struct.pack('<d', close), 1, nil)
      rsi.last_ts, rsi.last_seq, rsi_status = ts, seq, 'applied'
    else
      rsi_status = 'duplicate'
    end
  end
  local session, open = session_of(ts)
  if not is_after(vwap, ts, seq) then return atr_status, 'duplicate', rsi_status, vwap, false end
  if not open then return atr_status, 'preopen', rsi_status, vwap, false end
  local new_session = vwap.session ~= session
  if new_session then vwap = vwap_new() end
  if is_bar then -- the batch script's own loop, on this one point
    vwap_run(vwap, struct.pack('<dddd', high, low, close, volume), 1, false)
  else
    -- a tick: vwap_run's step inline, as stream_update's fast path runs it (packing the one point
    -- for vwap_run cost about a tenth of a tick in stream_update_many)
    local x, origin, weight, sum, comp, mean, m2 = 3 * price, vwap.origin, vwap.weight, vwap.sum, vwap.sum_comp, vwap.mean, vwap.m2
    if origin == nil or (weight == 0 and volume > 0) then origin = x end -- vwap_run's origin
    -- @paste "vwap_state" vwap_step
    vwap.points, vwap.origin, vwap.weight, vwap.sum, vwap.sum_comp, vwap.mean, vwap.m2 = vwap.points + 1, origin, weight, sum, comp, mean, m2
  end
  -- a state past the limit would be refused by every later update (check_vwap_state): refuse this one
  if vwap.weight > MAX_STREAM_COUNT then
    invalid(update_field(i, 'volume'), "would take the session's volume past " .. fmt_integer(MAX_STREAM_COUNT))
  end
  vwap.session, vwap.last_ts, vwap.last_seq = session, ts, seq
  return atr_status, 'applied', rsi_status, vwap, new_session
end

-- The positional reply of one update (docs/STREAMING.md), written into `out` after position `at`:
-- the statuses, atr (`atr_text`, '' until seeded), atr_bars, rsi (`rsi_value_text`), session, and
-- '' or, while the session has volume, vwap, sigma, volume and points; with `multipliers`, the
-- bands after them. Returns whether the session has volume (whether the values are there).
local function stream_reply(out, at, atr_status, vwap_status, rsi_status, atr_text, atr_bars, rsi_value_text, vwap, multipliers)
  out[at + 1], out[at + 2], out[at + 3], out[at + 4] = atr_status, vwap_status, rsi_status, atr_text
  out[at + 5], out[at + 6], out[at + 7], out[at + 8] = atr_bars, rsi_value_text, vwap.session or '', ''
  if vwap.weight == 0 then return false end
  local value, sigma = vwap_values(vwap)
  out[at + 8], out[at + 9], out[at + 10], out[at + 11] = fmt(value), fmt(sigma), vwap.weight, vwap.points
  if multipliers then out[at + 12], out[at + 13], out[at + 14] = vwap_band_lists(value, sigma, multipliers) end
  return true
end

-- Writes the states an update or a batch of them changed: ATR and RSI with a fresh TTL, VWAP with
-- a fresh TTL when its session started here and keeping its TTL otherwise.
local function stream_write(atr, atr_changed, vwap, vwap_changed, vwap_new_session, rsi, rsi_changed)
  if atr_changed then redis.call('SET', KEYS[1], atr_state_pack(atr), 'EX', STATE_TTL_SECONDS) end
  if rsi_changed then redis.call('SET', KEYS[3], rsi_state_pack(rsi), 'EX', STATE_TTL_SECONDS) end
  if vwap_changed then
    if vwap_new_session then redis.call('SET', KEYS[2], vwap_state_pack(vwap), 'EX', STATE_TTL_SECONDS)
    else redis.call('SET', KEYS[2], vwap_state_pack(vwap), 'KEEPTTL') end
  end
end
