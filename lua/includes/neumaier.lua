-- Neumaier's compensated summation: the running value is sum + compensation. It keeps the
-- rounding error of a long sum at a few ulps instead of one per term.

-- |sum| >= |x| without math.abs calls: this runs once per point in the VWAP loop.
local function neumaier_add(sum, compensation, x)
  local total = sum + x
  if (sum < 0 and -sum or sum) >= (x < 0 and -x or x) then
    compensation = compensation + ((sum - total) + x)
  else
    compensation = compensation + ((x - total) + sum)
  end
  return total, compensation
end
