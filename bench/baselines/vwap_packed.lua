-- VWAP and sigma over ticks packed as little-endian doubles '<dd' (price, volume).
local ticks = ARGV[1]
local sv, spv, sp2v, pos = 0, 0, 0, 1
for _ = 1, #ticks / 16 do
  local p, v
  p, v, pos = struct.unpack('<dd', ticks, pos)
  sv = sv + v
  spv = spv + p * v
  sp2v = sp2v + p * p * v
end
local vwap = spv / sv
local sigma = math.sqrt(math.max(0, sp2v / sv - vwap * vwap))
return { string.format('%.17g', vwap), string.format('%.17g', sigma), string.format('%.17g', sv) }
