#!lua
-- @name stop_loss
-- @version 1.1.0
-- @key cache_key      pattern_cache:stop_loss:v1.1.0:<symbol>:<sha1 of ARGV> in DB 10
-- @arg side           'long' or 'short'
-- @arg entry          price text, at most 4 decimals, on the tick grid
-- @arg atr            ATR in price (decimal text), > 0
-- @arg multiplier     k in (0, 100]; the stop distance before clamping is k * ATR
-- @arg tick           tick size, price text (0.05 for NSE options, 0.01 for cash under Rs 250)
-- @arg min_fraction   minimum distance as a fraction of entry, in (0, 1), or ''
-- @arg max_fraction   maximum distance as a fraction of entry, in (0, 1), or ''
-- @arg reward_ratio   target at this multiple of the risk, in (0, 100], or '' for no target
-- Reply: cache, hit|miss, stop, target ('' if none), distance (exact price text),
--        distance_ticks, clamped ('none', 'min' or 'max')
-- @include "cache"
local cached = cache_lookup()
if cached then return cached end
-- @include "stop_loss"

check_arg_count(8)
local result = stop_loss_compute(stop_loss_args(1))
return cache_store(stop_loss_fields(result, { 'cache', 'miss' }))
