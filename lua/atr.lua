#!lua
-- @name atr
-- @version 3.0.6
-- @key cache_key  pattern_cache:atr:v3.0.6:<symbol>:<sha1 of ARGV> in DB 10
-- @arg period     int[1..MAX_ATR_PERIOD]  the smoothing period n
-- @arg series     flag  '1' to return the ATR of every bar from bar period + 1 on, '0' for the last only
-- @arg state      text  '' for a whole series in one call; for a series longer than one call takes,
--                 'start' in the first call and then the `state` the previous call replied
--                 (docs/FORMULAS.md, "Long inputs")
-- @arg bars       packed(<ddd,[1..MAX_POINTS])  per bar high, low, close, each a whole number of
--                 price units (0.0001); MAX_SERIES_POINTS with the series, and with state '' at
--                 least period + 1. Binary arguments go last, so `redis-cli -x` can send them.
-- Reply: one text, a line per field and per value (format.lua): cache, hit|miss, atr,
--        <%.17g>, natr, <%.17g>, bars, <count so far>[, state, <text>] [, series,
--        '<%.17g>,<%.17g>,...' (one text)]; with a state other than '', atr and natr are '' until
--        period + 1 bars were seen, and series holds this call's bars only.
-- Average True Range as TA-Lib defines it (see docs/FORMULAS.md).
-- @include "cache_entry"

-- The fast path: the ATR of a whole series without the series list (state '', series '0'), every
-- argument and the key in its usual form. It runs before the includes below define their
-- functions: EVAL runs a script's whole text on every call, and the thirty or so functions those
-- define cost about a fifth of a 30-bar miss (bench/results/instructions.md). It runs atr_run's
-- step inline (the build pastes the very block) and stores the reply with cache_store, so its
-- answer and entry are the general path's (test/dispatcher/atr.test.ts holds the two paths to
-- the same bytes). Anything else (a series, a chunk, an unusual or bad argument or bar) falls
-- through to the general path, which checks everything again and names what is wrong. Whatever
-- the fast path accepts, the general path accepts too, with the same values: a key of this
-- version with a symbol of 1 to MAX_SYMBOL_LENGTH allowed characters, bare or as a whole hash tag, and 40
-- lowercase hex digits; a period of canonical digits within its bounds; whole bars within
-- MAX_POINTS, at least period + 1 of them, each low <= close <= high in whole price units.
-- @paste "cache" usual_cache_key
local period_text, series_text, state_text, data = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local count = data and #data / 24
if key_is_usual and #ARGV == 4 and series_text == '0' and state_text == '' and count % 1 == 0 and count <= MAX_POINTS
    and string.find(period_text, '^[1-9]%d*$') then
  local period = period_text + 0
  if period <= MAX_ATR_PERIOD and count >= period + 1 then
    local usual, n, prev_close, tr_sum, atr, keep = true, 0, nil, 0, nil, period - 1
    local unpack, max_units, pos, high, low, close = struct.unpack, MAX_PRICE_UNITS, 1
    -- @unroll 8
    for i = 1, count do
      high, low, close, pos = unpack('<ddd', data, pos)
      -- atr_run's check of a bar: a bar it refuses leaves the rest to the general path
      if not (low >= 1 and high <= max_units and low <= close and close <= high
          and high % 1 == 0 and low % 1 == 0 and close % 1 == 0) then
        usual = false
      end
      -- @paste "atr_state" atr_step
    end
    -- as fmt formats them: atr in price (10000 units, PRICE_UNITS), natr in percent, both finite
    local value, natr = atr / 10000, atr / prev_close * 100
    if usual and value - value == 0 and natr - natr == 0 then
      return cache_store('atr\n' .. (value == 0 and '0' or string.format('%.17g', value))
        .. '\nnatr\n' .. (natr == 0 and '0' or string.format('%.17g', natr))
        .. '\nbars\n' .. string.format('%d', n))
    end
  end
end

-- The general path.
-- @include "cache"
local cached = cache_lookup()
if cached then return cached end
-- @include "args"
-- @include "atr_state"

local a = read_args()
local series = a.series and {} or nil
if series and a.bars_count > MAX_SERIES_POINTS then
  invalid('bars', 'at most ' .. MAX_SERIES_POINTS .. ' points per call with the series, got ' .. a.bars_count)
end
local chunked = a.state ~= ''
local state = (not chunked or a.state == 'start') and atr_new(a.period) or parse_atr_state(a.state, a.period)
check_history('bars', state.bars, a.bars_count)
atr_run(state, a.bars, a.bars_count, series)
if not chunked and state.bars < a.period + 1 then
  invalid('bars', 'needs at least period + 1 = ' .. (a.period + 1) .. ' bars, got ' .. state.bars)
end

local atr = state.atr
local fields = 'atr\n' .. (atr and fmt(atr / PRICE_UNITS) or '')
  .. '\nnatr\n' .. (atr and fmt(atr / state.prev_close * 100) or '')
  .. '\nbars\n' .. fmt_integer(state.bars)
if chunked then fields = fields .. '\nstate\n' .. atr_state_text(state) end
if series then fields = fields .. '\nseries\n' .. fmt_list(series) end
return cache_store(fields)
