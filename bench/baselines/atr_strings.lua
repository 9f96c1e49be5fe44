-- ATR(n), TA-Lib seeding, bars as decimal-text ARGV: period, h1, l1, c1, h2, l2, c2, ...
local n = tonumber(ARGV[1])
local count = (#ARGV - 1) / 3
local prev, sum, atr = tonumber(ARGV[4]), 0, 0
for i = 2, count do
  local h, l, c = tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1])
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
