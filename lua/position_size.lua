#!lua
-- @name position_size
-- @version 1.1.0
-- @key cache_key         pattern_cache:position_size:v1.1.0:<symbol>:<sha1 of ARGV> in DB 10
-- @arg capital           account capital in rupees, (0, 1e11]
-- @arg risk              fraction of capital risked per trade, (0, 1]
-- @arg entry             price text
-- @arg stop              price text, not equal to entry
-- @arg lot_size          whole number of units per lot, 1 for cash equities
-- @arg max_lots          cap on lots, or ''
-- @arg max_exposure      cap on notional as a fraction of capital, (0, 100], or ''
-- @arg confidence        [0, 1] or ''; scales the risk from confidence_floor (at 0) to 1 (at 1)
-- @arg confidence_floor  risk multiplier at confidence 0, [0, 1]
-- Reply: cache, hit|miss, lots, quantity, money_at_risk, notional (exact price text),
--        bound_by ('risk', 'max_lots' or 'max_exposure'), risk_multiplier
-- @include "cache"
local cached = cache_lookup()
if cached then return cached end
-- @include "position_size"

check_arg_count(9)
local result = position_size_compute(position_size_args(1))
return cache_store(position_size_fields(result, { 'cache', 'miss' }))
