-- The messages of `read_args()`, the function the build writes from the script's header
-- (src/build/argSpec.ts) right after this include: one straight-line check per argument in ARGV
-- order, returning the values by name. Every type and range is checked there, once, from the
-- header; the includes check only what ties arguments together (an entry on its tick grid, min
-- below max). An optional argument sent as '' reads as nil. The header is the one place an
-- argument's position or limits are written. The helpers below word a failed check; they run
-- only once a check has failed.
-- @include "validate"
-- @include "units"

local function bound_text(x)
  if x == math.huge then return 'inf' end
  return string.format('%.17g', x)
end

local function int_out_of_range(name, s, lo, hi)
  invalid(name, 'must be an integer in ' .. bound_text(lo) .. '..' .. bound_text(hi) .. ', got ' .. s)
end

local function num_out_of_range(name, lo, hi, lo_open, hi_open)
  invalid(name, 'must be in ' .. (lo_open and '(' or '[') .. bound_text(lo) .. ', ' .. bound_text(hi) .. (hi_open and ')' or ']'))
end

local function packed_misaligned(name, s, width)
  invalid(name, 'must be ' .. width .. ' little-endian doubles per point (a multiple of ' .. (8 * width) .. ' bytes), got ' .. #s .. ' bytes')
end

local function packed_out_of_range(name, count, lo, hi)
  invalid(name, 'must hold ' .. bound_text(lo) .. '..' .. bound_text(hi) .. ' points per call, got ' .. count)
end
