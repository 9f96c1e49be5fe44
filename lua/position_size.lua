#!lua
-- @name position_size
-- @version 3.0.4
-- @key cache_key         pattern_cache:position_size:v3.0.4:<symbol>:<sha1 of ARGV> in DB 10
-- @arg capital           num(0,MAX_CAPITAL]  account capital in rupees
-- @arg risk              num(0,MAX_RISK]  fraction of capital risked per trade: 0.01 is 1 %
-- @arg entry             price  entry price
-- @arg stop              price  stop price, not equal to entry
-- @arg lot_size          int[1..1000000]  units per lot, 1 for cash equities
-- @arg max_lots          int[0..1000000000]?  cap on lots
-- @arg max_exposure      num(0,100]?  cap on notional as a fraction of capital
-- @arg confidence        num[0,1]?  scales the risk from confidence_floor (at 0) to 1 (at 1)
-- @arg confidence_floor  num[0,1]  risk multiplier at confidence 0
-- Reply: one text, a line per field and per value (format.lua): cache, hit|miss, lots,
--        quantity, money_at_risk, notional (exact price text), bound_by ('risk', 'max_lots' or
--        'max_exposure'), risk_multiplier
-- @include "cache"
local cached = cache_lookup()
if cached then return cached end
-- @include "args"
-- @include "position_size"

local result = position_size_compute(position_size_params(read_args()))
return cache_store(position_size_text(result))
