-- News boost: recency- and relevance-weighted sentiment (see docs/FORMULAS.md, "News boost").
-- Its arguments are read by name (args.lua): side, now, half_life_minutes, window_minutes,
-- max_boost, clock_skew_ms, items (per item '<ddd': sentiment in [-1, 1], relevance in [0, 1],
-- published_at epoch ms; each item is checked in the loop).
-- @include "validate"
-- @include "format"
-- @include "side"

-- @limit MAX_NEWS_ITEMS 250 news items per call: with MAX_DISPATCH_BARS bars, a dispatch stays well under 2 ms
-- Items weighing less are dropped: each could move the boost by under 1.5e-13, and keeping them
-- would let underflowing products (relevance 1e-320, 0.5^1440) decide the sentiment S.
local NEWS_MIN_WEIGHT = 1e-12

local function news_boost_params(a)
  return {
    now = a.now, half_life = a.half_life_minutes, window = a.window_minutes, max_boost = a.max_boost,
    skew = a.clock_skew_ms, side = side_sign(a.side), items = a.items or '', count = a.items_count or 0,
  }
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
  local items, pos, unpack_item, sentiment, relevance, published = p.items, 1, struct.unpack
  -- @unroll 8
  for i = 1, p.count do
    sentiment, relevance, published, pos = unpack_item('<ddd', items, pos)
    if not (sentiment >= -1 and sentiment <= 1 and relevance >= 0 and relevance <= 1
        and published >= MIN_EPOCH_MS and published <= latest and published <= MAX_EPOCH_MS and published % 1 == 0) then
      news_item_error(i, p, sentiment, relevance, published)
    end
    local age_minutes = now - published
    age_minutes = (age_minutes > 0 and age_minutes or 0) / 60000
    if age_minutes <= window then
      -- 0.5 ^ e is math.pow(0.5, e) (both C pow), without a table lookup and a call per item;
      -- the two compensated steps (TwoSum, as in vwap_run) are inline for the same reason (this loop
      -- takes up to MAX_NEWS_ITEMS items inside the 2 ms a call may hold Redis)
      local w = relevance * 0.5 ^ (age_minutes / half_life)
      if w >= NEWS_MIN_WEIGHT then
        local total = weight + w
        local back = total - weight
        weight_comp = weight_comp + ((weight - (total - back)) + (w - back))
        weight = total
        local x = w * sentiment
        total = signed + x
        back = total - signed
        signed_comp = signed_comp + ((signed - (total - back)) + (x - back))
        signed = total
        used = used + 1
      end
    end
  end
  weight = weight + weight_comp
  local sentiment = 0
  if weight > 0 then sentiment = (signed + signed_comp) / weight end
  local strength = 1 - math.exp(-weight)
  return { boost = p.side * p.max_boost * sentiment * strength, sentiment = sentiment, weight = weight, used = used, max_boost = p.max_boost }
end

local function news_boost_text(r)
  return 'boost\n' .. fmt(r.boost)
    .. '\nsentiment\n' .. fmt(r.sentiment)
    .. '\nweight\n' .. fmt(r.weight)
    .. '\ncount\n' .. fmt_integer(r.used)
end
