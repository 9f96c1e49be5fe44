#!lua
-- @name stream_update
-- @version 3.0.11
-- @no-unroll  its loops run on one point per update: written out they only lengthen its load
-- @key atr_state    indicator:atr<period>:<symbol>, a string of packed doubles in DB 10
-- @key vwap_state   indicator:vwap:<symbol>, a string of packed doubles in DB 10
-- @key rsi_state    indicator:rsi<rsi_period>:<symbol>, a string of packed doubles in DB 10
-- @arg atr_period   int[1..MAX_ATR_PERIOD]  the period the ATR key names
-- @arg rsi_period   int[2..MAX_RSI_PERIOD]  the period the RSI key names
-- @arg ts           epoch_ms  exchange timestamp
-- @arg seq          int[0..MAX_STREAM_COUNT]  sequence number; (ts, seq) orders the updates of a symbol
-- @arg price        price?  trade price for a tick; '' for a bar
-- @arg volume       int[0..MAX_VOLUME]  the tick's or bar's volume
-- @arg high         price?  for a bar; '' for a tick
-- @arg low          price?  for a bar; '' for a tick
-- @arg close        price?  for a bar; '' for a tick
-- @arg bands        bands?  band multipliers as in vwap ('1,2'), or '' for a reply without bands
--                   (the SDK sends '' and derives the bands from vwap and sigma)
-- The script reads its arguments itself (a tick's fast path checks them all in one match), so
-- the build writes no ARGS table here; the types above are the contract its checks follow.
-- Reply, by position (no field names: a tick's reply costs a fraction of the tick otherwise):
--        1 atr_status, 2 vwap_status, 3 rsi_status, 4 atr (%.17g, '' until seeded), 5 atr_bars
--        (integer), 6 rsi (%.17g, '' until seeded), 7 session (integer, '' before the first
--        tick), 8 vwap (%.17g, '' while the session has no volume, and then nothing follows),
--        9 sigma (%.17g), 10 volume, 11 points (integers), and with bands 12 band_k,
--        13 band_lower, 14 band_upper (lists of %.17g, as in vwap).
-- Statuses: applied; duplicate (at or before the last applied (ts, seq): ignored, never counted
-- twice); preopen (VWAP: before 09:15 IST, ignored); skipped (ATR and RSI: a tick is not a bar).
-- One tick or bar advances the indicators of one symbol atomically: one MGET, one SET per
-- indicator that changed; cost is independent of the history behind it. ATR and RSI (of the
-- closes) advance on bars only, each with its own last (ts, seq). VWAP starts afresh at the first
-- tick of a new IST trading date. TTL: 57,600 s from every ATR and RSI write and from the first
-- VWAP write of a session; later VWAP writes keep it (SET KEEPTTL), so a session's state lives
-- 16 hours from its first tick.
-- @include "session"
-- @include "stream_layout"
-- @include "price_digits"

-- The fast path: a tick or a bar without bands, every argument and key in its usual form, states
-- absent or well formed. It runs before the includes below define their functions (defining them
-- costs more than the update itself) and applies the steps of atr_run, rsi_run and vwap_run to its
-- one point inline (the build pastes the very blocks they run); the streaming tests hold it to the
-- batch scripts and to the general path bit for bit. Anything else (bands, an unusual or bad
-- argument, a state of the wrong length or breaking a rule of its own, a key of another type)
-- falls through to the general path, which checks everything again and names what is wrong.
-- Whatever the fast path accepts, the general path accepts too, with the same values: canonical
-- whole numbers within their bounds, prices of digits with at most four decimals, a bar's
-- low <= close <= high, keys of one symbol in the allowed characters, states within their rules.

-- One match checks the whole call: the three keys name one symbol, bare or as a whole hash tag,
-- the ATR key names the ATR period (%1) and the RSI key the RSI period (%3), and the arguments are
-- atr_period:rsi_period:ts:seq, then price:volume with '' for high, low, close and bands (a tick)
-- or '':volume:high:low:close with '' for bands (a bar). The two patterns differ only after seq.
local A = ARGV
local is_bar = A[5] == ''
local digits, symbol, rsi_digits, ts, seq, volume, price, high, low, close
if #A == 10 and KEYS[3] and not KEYS[4] then
  local whole_call = KEYS[1] .. ' ' .. KEYS[2] .. ' ' .. KEYS[3] .. ' ' .. A[1] .. ':' .. A[2] .. ':' .. A[3] .. ':' .. A[4] .. ':' .. A[5] .. ':' .. A[6] .. ':' .. A[7] .. ':' .. A[8] .. ':' .. A[9] .. ':' .. A[10]
  -- a usual update is at most about 270 bytes in all; a longer call goes to the general path, which names what is too long
  if #whole_call > MAX_ARG_TEXT then
    -- the general path
  elseif is_bar then
    local hw, hf, lw, lf, cw, cf
    digits, symbol, rsi_digits, ts, seq, volume, hw, hf, lw, lf, cw, cf = string.match(whole_call,
      '^indicator:atr([1-9]%d?%d?):({?[A-Z0-9][A-Z0-9&_.%-]*}?) indicator:vwap:%2 indicator:rsi([1-9]%d?%d?):%2 %1:%3:(%d+):(%d+)::(%d+):(%d+)%.?(%d*):(%d+)%.?(%d*):(%d+)%.?(%d*):$')
    if digits then
      high, low, close = price_digits_units(A[7], hw, hf), price_digits_units(A[8], lw, lf), price_digits_units(A[9], cw, cf)
      if not (high and low and close and low >= 1 and high <= MAX_PRICE_UNITS and low <= close and close <= high) then digits = nil end
    end
  else
    local whole, fraction
    digits, symbol, rsi_digits, ts, seq, whole, fraction, volume = string.match(whole_call,
      '^indicator:atr([1-9]%d?%d?):({?[A-Z0-9][A-Z0-9&_.%-]*}?) indicator:vwap:%2 indicator:rsi([1-9]%d?%d?):%2 %1:%3:(%d+):(%d+):(%d+)%.?(%d*):(%d+)::::$')
    if digits then
      price = price_digits_units(A[5], whole, fraction)
      if not (price and price >= 1 and price <= MAX_PRICE_UNITS) then digits = nil end
    end
  end
end
if digits and #symbol <= MAX_SYMBOL_LENGTH and (string.byte(symbol) == 123) == (string.byte(symbol, -1) == 125) then
  local period, rsi_period = digits + 0, rsi_digits + 0
  ts, seq, volume = ts + 0, seq + 0, volume + 0
  if period <= MAX_ATR_PERIOD and rsi_period >= 2 and rsi_period <= MAX_RSI_PERIOD
      and ts >= MIN_EPOCH_MS and ts <= MAX_EPOCH_MS and seq <= MAX_STREAM_COUNT and volume <= MAX_VOLUME then
    local stored = redis.call('MGET', KEYS[1], KEYS[2], KEYS[3])
    local a, v, r = stored[1], stored[2], stored[3]
    -- read_states' test: a slot that came back nil holds nothing, unless EXISTS counts more keys
    -- than strings (another type, or the pre-1.2.0 hash: the general path tells them apart)
    local usual = (a and v and r) and true or redis.call('EXISTS', KEYS[1], KEYS[2], KEYS[3]) == (a and 1 or 0) + (v and 1 or 0) + (r and 1 or 0)
    -- the states as atr_state_of, rsi_state_of and vwap_state_of read them, each held to their
    -- rules (check_atr_state, check_rsi_state, check_vwap_state, check_stream_order and the VWAP
    -- session's range) by one condition of the same tests: a state that breaks any goes to the
    -- general path, which names the field. ATR and RSI are unseeded while bars (closes) <= their period.
    local p, bars, prev_close, tr_sum, atr, atr_ts, atr_seq = period, 0, nil, 0, nil, nil, nil
    if a and #a == ATR_BYTES then
      p, bars, prev_close, tr_sum, atr, atr_ts, atr_seq = struct.unpack(ATR_LAYOUT, a)
      if not (bars >= 1 and bars <= MAX_STREAM_COUNT and bars % 1 == 0 and prev_close >= 1 and prev_close <= MAX_PRICE_UNITS and prev_close % 1 == 0
          and tr_sum >= 0 and tr_sum <= (bars > p and p or bars - 1) * MAX_PRICE_UNITS and tr_sum % 1 == 0
          and (bars <= p or atr >= 0 and atr <= MAX_PRICE_UNITS)
          and atr_ts >= MIN_EPOCH_MS and atr_ts <= MAX_EPOCH_MS and atr_ts % 1 == 0 and atr_seq >= 0 and atr_seq <= MAX_STREAM_COUNT and atr_seq % 1 == 0) then
        usual = false
      end
      if not (bars > p) then atr = nil end
    end
    local q, closes, prev, gain_sum, loss_sum, avg_gain, avg_loss, rsi_ts, rsi_seq = rsi_period, 0, nil, 0, 0, nil, nil, nil, nil
    if r and #r == RSI_BYTES then
      q, closes, prev, gain_sum, loss_sum, avg_gain, avg_loss, rsi_ts, rsi_seq = struct.unpack(RSI_LAYOUT, r)
      -- each sum at most the bound, as both are not negative and add up to at most it; so the averages
      if not (closes >= 1 and closes <= MAX_STREAM_COUNT and closes % 1 == 0 and prev >= 1 and prev <= MAX_PRICE_UNITS and prev % 1 == 0
          and gain_sum >= 0 and gain_sum % 1 == 0 and loss_sum >= 0 and loss_sum % 1 == 0
          and gain_sum + loss_sum <= (closes > q and q or closes - 1) * MAX_PRICE_UNITS
          and (closes <= q or avg_gain >= 0 and avg_loss >= 0 and avg_gain + avg_loss <= MAX_PRICE_UNITS)
          and rsi_ts >= MIN_EPOCH_MS and rsi_ts <= MAX_EPOCH_MS and rsi_ts % 1 == 0 and rsi_seq >= 0 and rsi_seq <= MAX_STREAM_COUNT and rsi_seq % 1 == 0) then
        usual = false
      end
      if not (closes > q) then avg_gain, avg_loss = nil, nil end
    end
    local stored_session, points, origin, weight, sum, comp, mean, m2, last_ts, last_seq
    if v and #v == VWAP_BYTES then
      stored_session, points, origin, weight, sum, comp, mean, m2, last_ts, last_seq = struct.unpack(VWAP_LAYOUT, v)
      -- check_vwap_state's bounds, its math.abs as two comparisons (exact: negation is)
      local low, top = 3 * (1 - 1e-9), 3 * MAX_PRICE_UNITS * (1 + 1e-9)
      local vwap = weight > 0 and origin + (sum + comp) / weight
      if not (stored_session >= MIN_SESSION and stored_session <= MAX_SESSION and stored_session % 1 == 0
          and points >= 1 and points <= MAX_STREAM_COUNT and points % 1 == 0 and origin >= 3 and origin <= 3 * MAX_PRICE_UNITS and origin % 1 == 0
          and weight >= 0 and weight <= points * MAX_VOLUME and weight + volume <= MAX_STREAM_COUNT and weight % 1 == 0 and m2 >= 0
          and (weight == 0 and sum == 0 and comp == 0 and mean == 0 and m2 == 0
            or vwap and vwap >= low and vwap <= top and -(weight * top) <= comp and comp <= weight * top
              and origin + mean >= low and origin + mean <= top
              and -(1e-9 * top) <= origin + mean - vwap and origin + mean - vwap <= 1e-9 * top and m2 <= weight * top * top)
          and last_ts >= MIN_EPOCH_MS and last_ts <= MAX_EPOCH_MS and last_ts % 1 == 0 and last_seq >= 0 and last_seq <= MAX_STREAM_COUNT and last_seq % 1 == 0) then
        usual = false
      end
    end
    if usual and (not a or #a == ATR_BYTES) and p == period and (not r or #r == RSI_BYTES) and q == rsi_period and (not v or #v == VWAP_BYTES) then
      -- stream_apply's order: ATR and RSI (a bar's close), each after its own last (ts, seq), then VWAP
      local atr_status, rsi_status = 'skipped', 'skipped'
      if is_bar then
        atr_status, rsi_status = 'duplicate', 'duplicate'
        if not atr_ts or ts > atr_ts or (ts == atr_ts and seq > atr_seq) then
          local n, keep = bars, period - 1
          -- @paste "atr_state" atr_step
          bars, atr_ts, atr_seq, atr_status = n, ts, seq, 'applied'
        end
        if not rsi_ts or ts > rsi_ts or (ts == rsi_ts and seq > rsi_seq) then
          local n, period, keep = closes, rsi_period, rsi_period - 1
          -- @paste "rsi_state" rsi_step
          closes, rsi_ts, rsi_seq, rsi_status = n, ts, seq, 'applied'
        end
      end
      local session, open = session_of(ts)
      local vwap_status, ttl = 'applied', 'KEEPTTL'
      -- applied only when provably after the last (ts, seq), as is_after asks it: the negated test
      -- let a hand-written NaN through, where the general path answered a duplicate
      if last_ts and not (ts > last_ts or (ts == last_ts and seq > last_seq)) then
        vwap_status = 'duplicate'
      elseif not open then
        vwap_status = 'preopen'
      else
        if stored_session ~= session then -- vwap_new(), and the TTL starts
          points, origin, weight, sum, comp, mean, m2, ttl = 0, nil, 0, 0, 0, 0, 0, 'EX'
        end
        -- vwap_run's step for one point: x = 3 * price for a tick, H + L + C for a bar, shifted by the session's first x with volume
        local x = is_bar and high + low + close or 3 * price
        if origin == nil or (weight == 0 and volume > 0) then origin = x end -- vwap_run's origin
        -- @paste "vwap_state" vwap_step
        points, stored_session, last_ts, last_seq = points + 1, session, ts, seq
      end
      -- fmt and rsi_of, inline: a state held to its rules above gives finite values, and one written
      -- by hand (by something other than these scripts) is answered as the general path answers
      -- it (-0 reads 0); the finite tests stay as fmt's, a guard that no checked state reaches
      local atr_text, rsi_text = '', ''
      if atr then
        local value = atr / 10000
        if value - value ~= 0 then error({ err = 'MATHD_INTERNAL a result is not finite' }) end
        atr_text = value == 0 and '0' or string.format('%.17g', value)
      end
      if avg_gain then
        local total = avg_gain + avg_loss
        local value = total == 0 and 0 or 100 * (avg_gain / total)
        if value - value ~= 0 then error({ err = 'MATHD_INTERNAL a result is not finite' }) end
        rsi_text = value == 0 and '0' or string.format('%.17g', value)
      end
      local reply = { atr_status, vwap_status, rsi_status, atr_text, bars, rsi_text, stored_session or '', '' }
      if stored_session and weight ~= 0 then -- stream_reply's test, a weight written by hand included
        -- as vwap_values: (origin + (sum + sum_comp) / weight) / VWAP_X_SCALE, sqrt(m2 / weight) / VWAP_X_SCALE
        local value, sigma = (origin + (sum + comp) / weight) / 30000, math.sqrt(m2 / weight) / 30000
        if value - value ~= 0 or sigma - sigma ~= 0 then error({ err = 'MATHD_INTERNAL a result is not finite' }) end
        reply[8], reply[9] = value == 0 and '0' or string.format('%.17g', value), sigma == 0 and '0' or string.format('%.17g', sigma)
        reply[10], reply[11] = weight, points
      end
      -- stream_write's writes, the reply built (every value checked) first
      if atr_status == 'applied' then redis.call('SET', KEYS[1], struct.pack(ATR_LAYOUT, period, bars, prev_close, tr_sum, atr or 0, atr_ts, atr_seq), 'EX', TTL_SECONDS_TEXT) end
      if rsi_status == 'applied' then
        redis.call('SET', KEYS[3], struct.pack(RSI_LAYOUT, rsi_period, closes, prev, gain_sum, loss_sum, avg_gain or 0, avg_loss or 0, rsi_ts, rsi_seq), 'EX', TTL_SECONDS_TEXT)
      end
      if vwap_status == 'applied' then
        v = struct.pack(VWAP_LAYOUT, stored_session, points, origin, weight, sum, comp, mean, m2, last_ts, last_seq)
        if ttl == 'EX' then redis.call('SET', KEYS[2], v, 'EX', TTL_SECONDS_TEXT) else redis.call('SET', KEYS[2], v, 'KEEPTTL') end
      end
      return reply
    end
  end
end

-- The general path.
-- @include "stream_apply"

check_arg_count(10)
local period = arg_integer(1, 'atr_period', 1, MAX_ATR_PERIOD)
local rsi_period = arg_integer(2, 'rsi_period', 2, MAX_RSI_PERIOD)
check_state_keys(period, rsi_period)
local ts = arg_number(3, 'ts')
check_epoch_ms('ts', ts)
local seq = arg_integer(4, 'seq', 0, MAX_STREAM_COUNT) + 0 -- + 0 stores '-0' as 0, the bytes stream_update_many stores
-- read in their order, so that of arguments left out the first is named
local price_text = arg_string(5, 'price')
local volume = arg_integer(6, 'volume', 0, MAX_VOLUME)
local is_bar = arg_string(7, 'high') ~= ''
local high, low, close, price
if is_bar then
  if price_text ~= '' then invalid('price', "send '' for a bar: its price is the typical price") end
  high, low, close = arg_price(7, 'high'), arg_price(8, 'low'), arg_price(9, 'close')
  if high < low or close < low or close > high then check_bar('', high, low, close) end
else
  price = arg_price(5, 'price')
  if arg_string(8, 'low') ~= '' or arg_string(9, 'close') ~= '' then invalid('high', 'a bar needs high, low and close') end
end
local multipliers = arg_string(10, 'bands') ~= '' and arg_bands(10) or nil

local stored_atr, stored_vwap, stored_rsi = read_states()
local atr = atr_state_of(stored_atr, period)
local vwap = vwap_state_of(stored_vwap)
local rsi = rsi_state_of(stored_rsi, rsi_period)

local atr_status, vwap_status, rsi_status, new_session
atr_status, vwap_status, rsi_status, vwap, new_session = stream_apply(atr, vwap, rsi, ts, seq, price, volume, high, low, close)
-- the reply is built (and every value checked finite) before anything is written
local reply = {}
stream_reply(reply, 0, atr_status, vwap_status, rsi_status, atr.atr and fmt(atr.atr / PRICE_UNITS) or '', atr.bars, rsi_text(rsi), vwap, multipliers)
stream_write(atr, atr_status == 'applied', vwap, vwap_status == 'applied', new_session, rsi, rsi_status == 'applied')
return reply
