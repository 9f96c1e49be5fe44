-- ATR(n), TA-Lib seeding, bars packed as little-endian doubles '<ddd' (high, low, close).
local n = tonumber(ARGV[1])
local bars = ARGV[2]
local count = #bars / 24
local _, _, prev, pos = struct.unpack('<ddd', bars, 1)
local sum, atr = 0, 0
for i = 2, count do
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
return { string.format('%.17g', atr), string.format('%.17g', atr / prev * 100) }
