#!lua
-- @name confidence
-- @version 2.0.3
-- @key cache_key       pattern_cache:confidence:v2.0.3:<symbol>:<sha1 of ARGV> in DB 10
-- @arg base_confidence  num(0,1)  the detector's confidence
-- @arg volume_ratio     num(0,1000000]?  current volume / baseline; '' when unknown (no volume term)
-- @arg boost            num[-1,1]  the news boost, within [-max_boost, max_boost]
-- @arg max_boost        num(0,1]  the largest boost
-- @arg volume_weight    num[0,10]  weight of the volume term in log-odds
-- @arg news_weight      num[0,10]  weight of the news term in log-odds
-- @arg min_confidence   num[0,1]  lower clamp, below max_confidence
-- @arg max_confidence   num[0,1]  upper clamp
-- Reply: one text, a line per field and per value (format.lua): cache, hit|miss,
--        confidence, unclamped, base_term, volume_term, news_term
-- @include "cache"
local cached = cache_lookup()
if cached then return cached end
-- @include "args"
-- @include "confidence"

local result = confidence_compute(confidence_params(read_args()))
return cache_store(confidence_text(result))
