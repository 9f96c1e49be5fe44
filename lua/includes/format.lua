-- Results leave as text: %.17g round-trips every double, while returning a Lua number truncates
-- it to an integer and tostring keeps only 14 digits.
-- @include "validate"

local function fmt(x)
  -- x - x is 0 exactly when x is finite (NaN for inf and NaN): is_finite's test, without a call
  if x - x ~= 0 then error({ err = 'MATHD_INTERNAL a result is not finite' }) end
  if x == 0 then return '0' end -- never '-0' (a short with no news would otherwise say -0)
  return string.format('%.17g', x)
end

local function fmt_integer(x)
  return string.format('%d', x)
end

-- A list of finite numbers as one text, '%.17g' values separated by commas ('' for none): one
-- string.format call and one reply string, where a string per value cost as much again as its
-- formatting (interning, the reply, the cache entry). Lists hold at most MAX_SERIES_POINTS values,
-- far below the C stack limit of unpack (8,000).
local function fmt_list(values)
  local n = #values
  if n == 0 then return '' end
  for i = 1, n do
    local x = values[i]
    if x - x ~= 0 then error({ err = 'MATHD_INTERNAL a result is not finite' }) end
  end
  -- the format has no trailing comma: a string.sub would intern the whole text a second time
  return string.format(string.rep('%.17g,', n - 1) .. '%.17g', unpack(values))
end

-- A reply is one text: its fields and values (field, value, field, value, ...) on lines of their
-- own, lists as fmt_list text. Redis sends one string as it is, where a table costs a conversion
-- per value, and the cache stores and returns that string unchanged (cache_entry.lua). Each step
-- writes its fields with one concatenation (stop_loss_text, vwap_text, ...): one string, where a
-- table of values joined later cost a table, its growth and a second string.
