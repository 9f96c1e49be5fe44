#!lua
-- @name news_boost
-- @version 1.1.0
-- @key cache_key          pattern_cache:news_boost:v1.1.0:<symbol>:<sha1 of ARGV> in DB 10
-- @arg side               'long' or 'short' (a short flips the sign of the boost)
-- @arg now                epoch ms
-- @arg half_life_minutes  (0, 100000]
-- @arg window_minutes     items older than this are dropped, (0, 100000]
-- @arg max_boost          (0, 1]
-- @arg clock_skew_ms      items newer than now by more than this are rejected, [0, 3600000]
-- @arg items              binary, per item '<ddd': sentiment [-1, 1], relevance [0, 1],
--                         published_at epoch ms; at most 1000 items; '' for none
-- Reply: cache, hit|miss, boost, sentiment, weight, count
-- @include "cache"
local cached = cache_lookup()
if cached then return cached end
-- @include "news_boost"

check_arg_count(7)
local result = news_boost_compute(news_boost_args(2, 1))
return cache_store(news_boost_fields(result, { 'cache', 'miss' }))
