-- Results leave as text: %.17g round-trips every double, while returning a Lua number truncates
-- it to an integer and tostring keeps only 14 digits.
-- @include "validate"

local function fmt(x)
  if not is_finite(x) then error({ err = 'MATHD_INTERNAL a result is not finite' }) end
  if x == 0 then return '0' end -- never '-0' (a short with no news would otherwise say -0)
  return string.format('%.17g', x)
end

local function fmt_integer(x)
  return string.format('%d', x)
end

-- Appends reply values (field, value, field, value, ...) to `out` (a new list if nil).
local function append_fields(out, values)
  out = out or {}
  for _, v in ipairs(values) do out[#out + 1] = v end
  return out
end
