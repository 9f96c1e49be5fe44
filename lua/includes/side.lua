-- The trade side: +1 for long, -1 for short.
-- @include "validate"

local function arg_side(index)
  return arg_choice(index, 'side', { 'long', 'short' }) == 'long' and 1 or -1
end
