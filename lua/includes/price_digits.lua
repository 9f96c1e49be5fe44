-- A price argument already matched as digits, a point and digits (`whole`, `fraction` of `text`),
-- in units, exactly: whole rupees times 10000 plus the decimals scaled to four places; nil for
-- more than four decimals or a point with none after it ('100.'). What arg_price accepts of that
-- form, with the same value: stream_update's fast path reads its prices with it.
local function price_digits_units(text, whole, fraction)
  local n = #fraction
  if n == 0 then return #whole == #text and whole * 10000 or nil
  elseif n == 1 then return whole * 10000 + fraction * 1000
  elseif n == 2 then return whole * 10000 + fraction * 100
  elseif n == 3 then return whole * 10000 + fraction * 10
  elseif n == 4 then return whole * 10000 + fraction end
end
