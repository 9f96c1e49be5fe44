-- Confidence: base confidence moved in log-odds by volume and news (see docs/FORMULAS.md).
-- ARGV from `first` on: base, volume_ratio ('' when unknown), boost, max_boost, volume_weight,
-- news_weight, min, max.
-- @include "validate"
-- @include "format"


local function confidence_args(first, chained)
  local p = {}
  p.base = arg_number(first, 'base_confidence')
  if not (p.base > 0 and p.base < 1) then invalid('base_confidence', 'must be in (0, 1)') end
  p.volume_ratio = arg_optional_number(first + 1, 'volume_ratio')
  if p.volume_ratio and not (p.volume_ratio > 0 and p.volume_ratio <= 1e6) then
    invalid('volume_ratio', 'must be in (0, 1e6]')
  end
  if chained then
    p.boost, p.max_boost = chained.boost, chained.max_boost
  else
    p.boost = arg_number(first + 2, 'boost')
    p.max_boost = arg_number(first + 3, 'max_boost')
    if not (p.max_boost > 0 and p.max_boost <= 1) then invalid('max_boost', 'must be in (0, 1]') end
    if not (math.abs(p.boost) <= p.max_boost) then invalid('boost', 'must be within [-max_boost, max_boost]') end
  end
  p.volume_weight = arg_number(first + 4, 'volume_weight')
  p.news_weight = arg_number(first + 5, 'news_weight')
  for _, name in ipairs({ 'volume_weight', 'news_weight' }) do
    if not (p[name] >= 0 and p[name] <= 10) then invalid(name, 'must be in [0, 10]') end
  end
  p.min = arg_number(first + 6, 'min_confidence')
  p.max = arg_number(first + 7, 'max_confidence')
  if not (p.min >= 0 and p.min < p.max and p.max <= 1) then
    invalid('min_confidence', 'need 0 <= min_confidence < max_confidence <= 1')
  end
  return p
end

local function confidence_compute(p)
  local base_term = math.log(p.base / (1 - p.base))
  local volume_term = 0
  if p.volume_ratio then
    volume_term = p.volume_weight * math.min(2, math.max(-2, math.log(p.volume_ratio)))
  end
  local news_term = p.news_weight * (p.boost / p.max_boost)
  local z = base_term + volume_term + news_term
  local unclamped = 1 / (1 + math.exp(-z))
  return {
    confidence = math.min(p.max, math.max(p.min, unclamped)),
    unclamped = unclamped,
    base_term = base_term,
    volume_term = volume_term,
    news_term = news_term,
  }
end

local function confidence_fields(r, fields)
  return append_fields(fields, {
    'confidence', fmt(r.confidence),
    'unclamped', fmt(r.unclamped),
    'base_term', fmt(r.base_term),
    'volume_term', fmt(r.volume_term),
    'news_term', fmt(r.news_term),
  })
end
