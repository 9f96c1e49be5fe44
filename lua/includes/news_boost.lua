-- News boost: recency- and relevance-weighted sentiment (see docs/FORMULAS.md, "News boost").
-- ARGV from `first` on: now_ms, half_life_minutes, window_minutes, max_boost, clock_skew_ms,
-- items (binary last, so `redis-cli -x` can send it); the side is at `side_index`. Items: per
-- item three little-endian doubles '<ddd': sentiment in [-1, 1], relevance in [0, 1],
-- published_at epoch ms; up to 1000 items, or ''.
-- @include "validate"
-- @include "format"
-- @include "neumaier"
-- @include "side"

local MAX_NEWS_ITEMS = 1000
-- Items weighing less are dropped: each could move the boost by under 1.5e-13, and keeping them
-- would let underflowing products (relevance 1e-320, 0.5^1440) decide the sentiment S.
local NEWS_MIN_WEIGHT = 1e-12

local function news_boost_args(first, side_index)
  local p = {}
  p.now = arg_number(first, 'now')
  check_epoch_ms('now', p.now)
  p.half_life = arg_number(first + 1, 'half_life_minutes')
  if not (p.half_life > 0 and p.half_life <= 100000) then invalid('half_life_minutes', 'must be in (0, 100000]') end
  p.window = arg_number(first + 2, 'window_minutes')
  if not (p.window > 0 and p.window <= 100000) then invalid('window_minutes', 'must be in (0, 100000]') end
  p.max_boost = arg_number(first + 3, 'max_boost')
  if not (p.max_boost > 0 and p.max_boost <= 1) then invalid('max_boost', 'must be in (0, 1]') end
  p.skew = arg_number(first + 4, 'clock_skew_ms')
  if not (p.skew >= 0 and p.skew <= 3600000) then invalid('clock_skew_ms', 'must be in [0, 3600000]') end
  p.side = arg_side(side_index)
  p.items, p.count = '', 0
  if arg_string(first + 5, 'items') ~= '' then p.items, p.count = arg_packed(first + 5, 'items', 3, MAX_NEWS_ITEMS) end
  return p
end

-- Names the first bad field of item i (0-based in the name) and raises; run only once the
-- combined check in the loop has failed.
local function news_item_error(i, p, sentiment, relevance, published)
  local field = 'items[' .. (i - 1) .. ']'
  if not (sentiment >= -1 and sentiment <= 1) then invalid(field .. '.sentiment', 'must be in [-1, 1]') end
  if not (relevance >= 0 and relevance <= 1) then invalid(field .. '.relevance', 'must be in [0, 1]') end
  check_epoch_ms(field .. '.published_at', published)
  invalid(field .. '.published_at', 'is in the future beyond the clock-skew allowance of ' .. p.skew .. ' ms')
end

local function news_boost_compute(p)
  local weight, weight_comp, signed, signed_comp, used = 0, 0, 0, 0, 0
  local now, latest, half_life, window = p.now, p.now + p.skew, p.half_life, p.window
  local items, pos = p.items, 1
  for i = 1, p.count do
    local sentiment, relevance, published
    sentiment, relevance, published, pos = struct.unpack('<ddd', items, pos)
    if not (sentiment >= -1 and sentiment <= 1 and relevance >= 0 and relevance <= 1
        and published >= 0 and published <= latest and published <= MAX_EPOCH_MS and published % 1 == 0) then
      news_item_error(i, p, sentiment, relevance, published)
    end
    local age_minutes = math.max(0, now - published) / 60000
    local w = relevance * math.pow(0.5, age_minutes / half_life)
    if age_minutes <= window and w >= NEWS_MIN_WEIGHT then
      weight, weight_comp = neumaier_add(weight, weight_comp, w)
      signed, signed_comp = neumaier_add(signed, signed_comp, w * sentiment)
      used = used + 1
    end
  end
  weight = weight + weight_comp
  local sentiment = 0
  if weight > 0 then sentiment = (signed + signed_comp) / weight end
  local strength = 1 - math.exp(-weight)
  return { boost = p.side * p.max_boost * sentiment * strength, sentiment = sentiment, weight = weight, used = used, max_boost = p.max_boost }
end

local function news_boost_fields(r, fields)
  return append_fields(fields, {
    'boost', fmt(r.boost),
    'sentiment', fmt(r.sentiment),
    'weight', fmt(r.weight),
    'count', fmt_integer(r.used),
  })
end
