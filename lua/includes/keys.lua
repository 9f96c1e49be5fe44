-- KEYS checks shared by every script: the number of keys and the form of each, checked before
-- anything is read or written, so a raw caller can neither make a script write outside its key
-- family nor get a Lua error instead of a MATHD_INVALID reply.
-- @include "errors"
-- @limit TTL_SECONDS 57600 how long every key the scripts write lives: one trading day and its evening

-- @limit MAX_SYMBOL_LENGTH 40 characters of a symbol in a key, as src/keys/symbol.ts SYMBOL_PATTERN takes them
-- Every key of these scripts is far shorter (a cache key, the longest, is under 140 bytes); a
-- longer one is refused before a pattern or a copy reads it, as MAX_ARG_TEXT bounds arguments.
local MAX_KEY_LENGTH = 256

local function check_key_length(field, key)
  if #key > MAX_KEY_LENGTH then invalid(field, 'must be at most ' .. MAX_KEY_LENGTH .. ' bytes, got ' .. #key .. ': ' .. shown(key)) end
end

-- The script takes exactly `#names` keys; names[i] is KEYS[i]'s name in the script header.
local function check_key_count(names)
  for i = 1, #names do
    if KEYS[i] == nil then invalid(names[i], 'missing (KEYS[' .. i .. '])') end
  end
  if #KEYS > #names then invalid('KEYS[' .. (#names + 1) .. ']', 'this script takes ' .. #names .. ' key(s)') end
end

-- The symbol segment of a key: src/keys/symbol.ts SYMBOL_PATTERN, /^[A-Z0-9][A-Z0-9&_.-]{0,39}$/,
-- optionally wrapped whole in a cluster {hash tag}.
local function check_key_symbol(field, symbol)
  local bare = string.match(symbol, '^{(.*)}$') or symbol
  if #bare > MAX_SYMBOL_LENGTH or not string.find(bare, '^[A-Z0-9][A-Z0-9&_.%-]*$') then
    invalid(field, 'the symbol ' .. shown(symbol) .. ' must match [A-Z0-9][A-Z0-9&_.-]{0,39}, optionally as a whole {hash tag}')
  end
end

-- KEYS[index] is `prefix` .. <symbol>; returns the symbol.
local function key_symbol(index, field, prefix)
  local key = KEYS[index]
  check_key_length(field, key)
  if string.sub(key, 1, #prefix) ~= prefix then invalid(field, 'must be ' .. prefix .. '<symbol>, got ' .. shown(key)) end
  local symbol = string.sub(key, #prefix + 1)
  check_key_symbol(field, symbol)
  return symbol
end
