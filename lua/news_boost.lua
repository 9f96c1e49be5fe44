#!lua
-- @name news_boost
-- @version 4.0.3
-- @key cache_key          pattern_cache:news_boost:v4.0.3:<symbol>:<sha1 of ARGV> in DB 10
-- @arg side               enum(long|short)  a short flips the sign of the boost
-- @arg now                epoch_ms  the signal's time
-- @arg half_life_minutes  num(0,100000]  an item's weight halves every half life
-- @arg window_minutes     num(0,100000]  items older than this are dropped
-- @arg max_boost          num(0,1]  the boost is within [-max_boost, max_boost]
-- @arg clock_skew_ms      int[0..3600000]  items newer than now by more than this are rejected
-- @arg items              packed(<ddd,[0..MAX_NEWS_ITEMS])  per item sentiment [-1, 1], relevance
--                         [0, 1], published_at epoch ms; '' for none
--                         published_at epoch ms; at most 1000 items; '' for none
-- Reply: one text, a line per field and per value (format.lua): cache, hit|miss, boost,
--        sentiment, weight, count
-- @include "cache"
local cached = cache_lookup()
if cached then return cached end
-- @include "args"
-- @include "news_boost"

local result = news_boost_compute(news_boost_params(read_args()))
return cache_store(news_boost_text(result))
