#!lua
-- @name dispatch
-- @version 5.1.3
-- @key cache_key          pattern_cache:dispatch:v5.1.3:<symbol>:<sha1 of ARGV> in DB 10
-- ARGV: the arguments of the scripts it chains, by name, each once (the build composes the order
-- from their headers: src/build/luaBuild.ts), less what the chain computes, then its own.
-- @uses stop_loss confidence position_size news_boost
-- @chained boost stop confidence
-- @arg atr                num[0,inf)?  ATR in price, or '' to compute it from atr_period and bars
-- @arg atr_period         int[1..MAX_ATR_PERIOD]?  '' when atr is given
-- @arg bars               packed(<ddd,[0..MAX_DISPATCH_BARS])  the ATR bars as in atr; '' when atr is given
-- @limit MAX_DISPATCH_BARS 250 ATR bars one dispatch takes along with up to MAX_NEWS_ITEMS news, so the
--        two stay under 2 ms together; the SDK computes the ATR of more bars with atr first
-- Reply: one text, a line per field and per value (format.lua): cache, hit|miss, atr,
--        then the fields of stop_loss, news_boost, confidence and position_size, as those scripts
--        name them.
-- One signal, one call: ATR (given or from bars) -> stop-loss -> news boost -> confidence ->
-- position size, each step exactly the code of its own script.
-- @include "cache"
local cached = cache_lookup()
if cached then return cached end
-- @include "args"
-- @include "atr_state"
-- @include "stop_loss"
-- @include "news_boost"
-- @include "confidence"
-- @include "position_size"

local a = read_args()
local atr
if a.atr then
  -- the SDK's rule too (exactly one of atr and atrBars): bars sent beside an ATR would be cached unread
  if a.atr_period or a.bars_count > 0 then invalid(a.atr_period and 'atr_period' or 'bars', "give atr, or atr_period and bars, not both") end
else
  if not a.atr_period then invalid('atr', "give atr, or atr_period and bars") end
  local state = atr_new(a.atr_period)
  atr_run(state, a.bars, a.bars_count, nil)
  if state.bars < state.period + 1 then
    invalid('bars', 'needs at least period + 1 = ' .. (state.period + 1) .. ' bars, got ' .. state.bars)
  end
  atr = state.atr / PRICE_UNITS
end
local stop_params = stop_loss_params(a, atr)
local stop = stop_loss_compute(stop_params)
local news = news_boost_compute(news_boost_params(a))
local confidence = confidence_compute(confidence_params(a, news))
local size = position_size_compute(position_size_params(a, { stop = stop.stop, confidence = confidence.confidence }))

return cache_store('atr\n' .. fmt(stop_params.atr) .. '\n' .. stop_loss_text(stop) .. '\n' .. news_boost_text(news)
  .. '\n' .. confidence_text(confidence) .. '\n' .. position_size_text(size))
