-- Confidence: base confidence moved in log-odds by volume and news (see docs/FORMULAS.md).
-- Its arguments are read by name (args.lua): base_confidence, volume_ratio, boost, max_boost,
-- volume_weight, news_weight, min_confidence, max_confidence; in dispatch the news step gives boost.
-- @include "validate"
-- @include "format"


local function confidence_params(a, chained)
  local p = {
    base = a.base_confidence, volume_ratio = a.volume_ratio, boost = a.boost, max_boost = a.max_boost,
    volume_weight = a.volume_weight, news_weight = a.news_weight, min = a.min_confidence, max = a.max_confidence,
  }
  if chained then p.boost = chained.boost end
  if not (math.abs(p.boost) <= p.max_boost) then invalid('boost', 'must be within [-max_boost, max_boost]') end
  if not (p.min < p.max) then invalid('min_confidence', 'need 0 <= min_confidence < max_confidence <= 1') end
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

local function confidence_text(r)
  return 'confidence\n' .. fmt(r.confidence)
    .. '\nunclamped\n' .. fmt(r.unclamped)
    .. '\nbase_term\n' .. fmt(r.base_term)
    .. '\nvolume_term\n' .. fmt(r.volume_term)
    .. '\nnews_term\n' .. fmt(r.news_term)
end
