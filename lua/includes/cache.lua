-- The result cache (cache_entry.lua has its entries): the hit check first, and on a miss the
-- key's form, checked before anything is computed or written.
-- @include "cache_entry"
-- @include "keys"

-- KEYS[1] must be pattern_cache:<this name>:v<this version>:<symbol>:<40 hex digits>. The prefix
-- is compared in place (a plain find at 1), not through a copy of the key's start. A key in that
-- form passes one match; any other is taken apart by the checks that name what is wrong.
local function cache_check_key()
  -- the key's usual form in one match, which a fast path (atr.lua) pastes: whatever it accepts,
  -- the checks below accept too
  -- @block usual_cache_key
  local key_is_usual = false
  if #KEYS == 1 and string.find(KEYS[1], CACHE_KEY_PREFIX, 1, true) == 1 then
    local tag_open, symbol, tag_close, digest = string.match(KEYS[1], '^(%{?)([A-Z0-9][A-Z0-9&_.%-]*)(%}?):([0-9a-f]+)$', #CACHE_KEY_PREFIX + 1)
    key_is_usual = symbol ~= nil and #symbol <= MAX_SYMBOL_LENGTH and #tag_open == #tag_close and #digest == 40
  end
  -- @end usual_cache_key
  if key_is_usual then return end
  if #KEYS ~= 1 then check_key_count({ 'cache_key' }) end
  local key, prefix = KEYS[1], CACHE_KEY_PREFIX
  check_key_length('cache_key', key)
  if string.find(key, prefix, 1, true) ~= 1 or not string.find(key, '^:[0-9a-f]+$', #key - 40) then
    invalid('cache_key', 'must be ' .. prefix .. '<symbol>:<sha1 of the arguments>, got ' .. shown(key))
  end
  check_key_symbol('cache_key', string.sub(key, #prefix + 1, #key - 41))
end

-- Reached on a miss only (a hit returned above): checks the key and returns nil.
local function cache_lookup()
  cache_check_key()
  return nil
end
