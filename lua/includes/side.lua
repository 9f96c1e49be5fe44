-- The trade side as a sign: +1 for 'long', -1 for 'short' (read_args has checked the word).

local function side_sign(side)
  return side == 'long' and 1 or -1
end
