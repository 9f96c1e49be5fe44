-- Result cache in the script's own database (DB 10), inside the same call that computes.
-- The caller names the entry, pattern_cache:<name>:v<version>:<symbol>:<sha1 of the arguments>.
--
-- An entry is one string: the tag '<name> <version>;', the argument count and the length of each
-- argument (struct '<I4' each), the arguments themselves back to back, then the reply text as a
-- hit returns it (cache status 'hit'). A hit is an entry that starts with this script's tag, has
-- this call's count and lengths, and holds each of this call's arguments at its place: one plain
-- string.find per argument, comparing bytes in C without building a string. That proves the entry
-- answers exactly this call (the same script, version and arguments), so a hit checks nothing
-- else and returns the rest of the entry as it is: one string, never decoded or rebuilt, where
-- unpacking a stored reply into a table for Redis to convert cost a third of a hit. Hashing the
-- arguments cost a SHA1 pass per call. The key's form is checked on a miss, before anything is
-- computed or written; a key paired with other arguments (a raw caller's mistake, or a digest
-- collision) is a miss: the script computes, and overwrites the entry with the result of the
-- arguments it was given.
--
-- This file goes first in a script, and its hit check runs as soon as it is included: a hit
-- returns before anything else (these includes too) defines a function.

local CACHE_TAG = SCRIPT_TAG -- '<name> <version>;', written by the build
do
  -- pcall: a key of another type is a miss, and cache_lookup then names it
  local stored = #KEYS == 1 and redis.pcall('GET', KEYS[1])
  local n, pos = #ARGV, #CACHE_TAG + 1
  if type(stored) == 'string' and string.find(stored, CACHE_TAG, 1, true) == 1 and #stored >= pos + 3 + 4 * n
      and struct.unpack('<I4', stored, pos) == n then
    -- argument i's length is the i-th '<I4' after the count; `at` walks the stored arguments
    local unpack, find, at, a, length = struct.unpack, string.find, pos + 4 + 4 * n
    for i = 1, n do
      a, length = ARGV[i], unpack('<I4', stored, pos + 4 * i)
      if length ~= #a or (length > 0 and find(stored, a, at, true) ~= at) then
        at = nil
        break
      end
      at = at + length
    end
    if at then return string.sub(stored, at) end
  end
end
local CACHE_TTL_SECONDS = string.format('%d', TTL_SECONDS) -- text: Redis takes it as it is, where a Lua number is formatted first
-- @include "keys"

-- KEYS[1] must be pattern_cache:<this name>:v<this version>:<symbol>:<40 hex digits>.
local function cache_check_key()
  check_key_count({ 'cache_key' })
  local key = KEYS[1]
  local prefix = 'pattern_cache:' .. SCRIPT_NAME .. ':v' .. SCRIPT_VERSION .. ':'
  if string.sub(key, 1, #prefix) ~= prefix or not string.find(key, '^:[0-9a-f]+$', #key - 40) then
    invalid('cache_key', 'must be ' .. prefix .. '<symbol>:<sha1 of the arguments>, got ' .. shown(key))
  end
  check_key_symbol('cache_key', string.sub(key, #prefix + 1, #key - 41))
end

-- Reached on a miss only (a hit returned above): checks the key and returns nil.
local function cache_lookup()
  cache_check_key()
  return nil
end

-- Stores a reply, a field list that starts with 'cache', 'miss', and returns it as reply_text
-- does; the entry holds the same text with 'hit'. The read-only variant of a script (for
-- replicas: src/build/luaBuild.ts, readOnlyVariant) sets CACHE_WRITES to false: a miss computes
-- and is not stored.
local CACHE_WRITES = true
local function cache_store(reply)
  local fields = table.concat(reply, '\n', 3)
  if CACHE_WRITES then
    local n, lengths = #ARGV, {}
    for i = 1, n do lengths[i] = #ARGV[i] end
    local head = CACHE_TAG .. struct.pack('<I4', n) .. (n > 0 and struct.pack('<' .. string.rep('I4', n), unpack(lengths)) or '')
    redis.call('SET', KEYS[1], head .. table.concat(ARGV) .. 'cache\nhit\n' .. fields, 'EX', CACHE_TTL_SECONDS)
  end
  return 'cache\nmiss\n' .. fields
end
