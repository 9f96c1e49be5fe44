#!lua
-- @name confidence
-- @version 1.1.0
-- @key cache_key       pattern_cache:confidence:v1.1.0:<symbol>:<sha1 of ARGV> in DB 10
-- @arg base            the detector's confidence, (0, 1)
-- @arg volume_ratio    current volume / baseline, (0, 1e6], or '' when unknown (no volume term)
-- @arg boost           the news boost, within [-max_boost, max_boost]
-- @arg max_boost       (0, 1]
-- @arg volume_weight   [0, 10]
-- @arg news_weight     [0, 10]
-- @arg min             lower clamp, [0, max)
-- @arg max             upper clamp, (min, 1]
-- Reply: cache, hit|miss, confidence, unclamped, base_term, volume_term, news_term
-- @include "cache"
local cached = cache_lookup()
if cached then return cached end
-- @include "confidence"

check_arg_count(8)
local result = confidence_compute(confidence_args(1))
return cache_store(confidence_fields(result, { 'cache', 'miss' }))
