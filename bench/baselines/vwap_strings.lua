-- VWAP and sigma over ticks given as decimal-text ARGV: p1, v1, p2, v2, ...
local sv, spv, sp2v = 0, 0, 0
for i = 1, #ARGV, 2 do
  local p, v = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  sv = sv + v
  spv = spv + p * v
  sp2v = sp2v + p * p * v
end
local vwap = spv / sv
local sigma = math.sqrt(math.max(0, sp2v / sv - vwap * vwap))
return { string.format('%.17g', vwap), string.format('%.17g', sigma), string.format('%.17g', sv) }
