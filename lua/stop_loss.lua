#!lua
-- @name stop_loss
-- @version 2.1.2
-- @key cache_key      pattern_cache:stop_loss:v2.1.2:<symbol>:<sha1 of ARGV> in DB 10
-- @arg side           enum(long|short)  the trade's side
-- @arg entry          price  on the tick grid
-- @arg atr            num[0,inf)  ATR in price (0 for a flat series: the stop is then one tick away)
-- @arg multiplier     num(0,100]  k: the stop distance before clamping is k * ATR
-- @arg tick           price  tick size (0.05 for NSE options, 0.01 for cash under Rs 250)
-- @arg min_fraction   num(0,1)?  minimum distance as a fraction of entry
-- @arg max_fraction   num(0,1)?  maximum distance as a fraction of entry
-- @arg reward_ratio   num(0,100]?  target at this multiple of the risk; '' for no target
-- Reply: one text, a line per field and per value (format.lua): cache, hit|miss, stop,
--        target ('' if none), distance (exact price text), distance_ticks, clamped ('none', 'min'
--        or 'max')
-- @include "cache"
local cached = cache_lookup()
if cached then return cached end
-- @include "args"
-- @include "stop_loss"

local result = stop_loss_compute(stop_loss_params(read_args()))
return cache_store(stop_loss_text(result))
