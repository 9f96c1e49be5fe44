-- Neumaier's compensated summation: the running value is sum + compensation. It keeps the
-- rounding error of a long sum at a few ulps instead of one per term.

local function neumaier_add(sum, compensation, x)
  local total = sum + x
  if math.abs(sum) >= math.abs(x) then
    compensation = compensation + ((sum - total) + x)
  else
    compensation = compensation + ((x - total) + sum)
  end
  return total, compensation
end
