-- The error reply for bad input. Raised as {err = ...} so the caller gets exactly
-- 'MATHD_INVALID <field>: <reason>'; every check runs before any write, so a rejected call writes
-- nothing. Callers build the field name and the reason only once a check has failed: string
-- building per point is the costliest thing a hot loop can do.

local function invalid(field, reason)
  error({ err = 'MATHD_INVALID ' .. field .. ': ' .. reason })
end

-- A short printable echo of a bad argument (arguments may be binary or huge).
local function shown(s)
  if #s > 24 then s = string.sub(s, 1, 24) .. '...' end
  return string.format('%q', s)
end
