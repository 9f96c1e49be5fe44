#!lua
-- @name dispatch
-- @version 1.1.0
-- @key cache_key          pattern_cache:dispatch:v1.1.0:<symbol>:<sha1 of ARGV> in DB 10
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
local cached = cache_lookup()
if cached then return cached end
-- @include "atr_state"
-- @include "stop_loss"
-- @include "news_boost"
-- @include "confidence"
-- @include "position_size"

check_arg_count(33)
-- in a fixed order, so the first filled slot is the one named
if arg_string(11, 'boost') ~= '' then invalid('boost', "is filled by the chain; send ''") end
if arg_string(12, 'boost_max') ~= '' then invalid('boost_max', "is filled by the chain; send ''") end
if arg_string(19, 'size_entry') ~= '' then invalid('size_entry', "is filled by the chain; send ''") end
if arg_string(20, 'size_stop') ~= '' then invalid('size_stop', "is filled by the chain; send ''") end
if arg_string(24, 'size_confidence') ~= '' then invalid('size_confidence', "is filled by the chain; send ''") end

local atr
if arg_string(3, 'atr') == '' then
  local state = atr_new(arg_integer(32, 'atr_period', 1, 500))
  atr_of_bars(state, 33, nil)
  if state.bars < state.period + 1 then
    invalid('bars', 'needs at least period + 1 = ' .. (state.period + 1) .. ' bars, got ' .. state.bars)
  end
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

local reply = { 'cache', 'miss', 'atr', fmt(stop_params.atr) }
stop_loss_fields(stop, reply)
news_boost_fields(news, reply)
confidence_fields(confidence, reply)
position_size_fields(size, reply)
return cache_store(reply)
