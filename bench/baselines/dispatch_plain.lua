-- The dispatch chain in one plain script: ATR from packed bars -> stop -> news boost ->
-- confidence -> position size. ARGV: side, entry, tick, multiplier, reward_ratio,
-- base_confidence, volume_ratio, capital, risk, lot_size, max_exposure, now, atr_period,
-- bars '<ddd', news '<ddd' (sentiment, relevance, published_at).
local side = ARGV[1] == 'long' and 1 or -1
local entry, tick, k, rr = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local base, volume_ratio = tonumber(ARGV[6]), tonumber(ARGV[7])
local capital, risk, lot, max_exposure = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
local now, n = tonumber(ARGV[12]), tonumber(ARGV[13])

local bars = ARGV[14]
local _, _, prev, pos = struct.unpack('<ddd', bars, 1)
local sum, atr = 0, 0
for i = 2, #bars / 24 do
  local h, l, c
  h, l, c, pos = struct.unpack('<ddd', bars, pos)
  local tr = math.max(h - l, math.abs(h - prev), math.abs(l - prev))
  if i <= n + 1 then
    sum = sum + tr
    if i == n + 1 then atr = sum / n end
  else
    atr = (atr * (n - 1) + tr) / n
  end
  prev = c
end

local ticks = math.ceil(k * atr / tick)
local stop = entry - side * ticks * tick
local target = entry + side * math.floor(rr * ticks) * tick

local news = ARGV[15]
local w, ws = 0, 0
pos = 1
for _ = 1, #news / 24 do
  local s, r, t
  s, r, t, pos = struct.unpack('<ddd', news, pos)
  local age = math.max(0, now - t) / 60000
  if age <= 1440 then
    local wi = r * math.pow(0.5, age / 60)
    w = w + wi
    ws = ws + wi * s
  end
end
local sentiment = w > 0 and ws / w or 0
local boost = side * 0.15 * sentiment * (1 - math.exp(-w))

local z = math.log(base / (1 - base)) + 0.5 * math.min(2, math.max(-2, math.log(volume_ratio))) + 0.75 * boost / 0.15
local confidence = math.min(0.95, math.max(0.05, 1 / (1 + math.exp(-z))))

local per_unit = math.abs(entry - stop)
local lots = math.floor(capital * risk * (0.5 + 0.5 * confidence) / (per_unit * lot))
lots = math.min(lots, math.floor(capital * max_exposure / (entry * lot)))
local f = function(x) return string.format('%.17g', x) end
return { f(atr), f(stop), f(target), f(boost), f(confidence), f(lots), f(lots * lot) }
