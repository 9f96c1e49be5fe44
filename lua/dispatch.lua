#!lua
-- @name dispatch
-- @version 1.0.0
-- @key cache              pattern_cache:dispatch:v1.0.0:<symbol>:<sha1 of ARGV> in DB 10
-- ARGV is the other scripts' arguments in sections, so each step parses its own section with
-- its own code; a slot the chain fills (marked 'chained') must be sent as ''. The ATR bars go
-- last, so `redis-cli -x` can send them.
-- @arg side               stop_loss section, ARGV 1-8
-- @arg entry
-- @arg atr                ATR in price, or '' to compute it from atr_period and bars
-- @arg multiplier
-- @arg tick
-- @arg min_fraction
-- @arg max_fraction
-- @arg reward_ratio
-- @arg base_confidence    confidence section, ARGV 9-16
-- @arg volume_ratio
-- @arg boost              chained: the news step's boost
-- @arg boost_max          chained: the news step's max_boost
-- @arg volume_weight
-- @arg news_weight
-- @arg min_confidence
-- @arg max_confidence
-- @arg capital            position_size section, ARGV 17-25
-- @arg risk
-- @arg size_entry         chained: the entry above
-- @arg size_stop          chained: the stop just computed
-- @arg lot_size
-- @arg max_lots
-- @arg max_exposure
-- @arg size_confidence    chained: the confidence just computed
-- @arg confidence_floor
-- @arg now                news_boost section, ARGV 26-31 (its side is ARGV 1)
-- @arg half_life_minutes
-- @arg window_minutes
-- @arg max_boost
-- @arg clock_skew_ms
-- @arg items
-- @arg atr_period         ATR section, ARGV 32-33: '' and '' when atr is given
-- @arg bars
-- Reply: cache, hit|miss, atr, then the fields of stop_loss, news_boost, confidence and
--        position_size, as those scripts name them.
-- One signal, one call: ATR (given or from bars) -> stop-loss -> news boost -> confidence ->
-- position size, each step exactly the code of its own script.
-- @include "cache"
-- @include "atr_state"
-- @include "stop_loss"
-- @include "news_boost"
-- @include "confidence"
-- @include "position_size"

local cached = cache_lookup(KEYS[1])
if cached then return cached end
local CHAINED_SLOTS = { { 11, 'boost' }, { 12, 'boost_max' }, { 19, 'size_entry' }, { 20, 'size_stop' }, { 24, 'size_confidence' } }
for _, slot in ipairs(CHAINED_SLOTS) do
  if arg_string(slot[1], slot[2]) ~= '' then invalid(slot[2], "is filled by the chain; send ''") end
end

local atr
if arg_string(3, 'atr') == '' then
  local state = atr_of_bars(arg_integer(32, 'atr_period', 1, 500), 33, false)
  atr = state.atr / PRICE_UNITS
end
local stop_params = stop_loss_args(1, atr)
local stop = stop_loss_compute(stop_params)
local news = news_boost_compute(news_boost_args(26, 1))
local confidence = confidence_compute(confidence_args(9, news))
local size = position_size_compute(position_size_args(17, {
  entry = stop_params.entry,
  stop = stop.stop,
  confidence = confidence.confidence,
}))

local fields = { 'atr', fmt(stop_params.atr) }
stop_loss_fields(stop, fields)
news_boost_fields(news, fields)
confidence_fields(confidence, fields)
position_size_fields(size, fields)
return cache_store(KEYS[1], fields)
