-- Result cache in the script's own database (DB 10), inside the same call that computes.
-- The caller names the entry, pattern_cache:<name>:v<version>:<symbol>:<sha1 of the arguments>.
--
-- An entry is one string: the tag '<name> <version>;', the call's arguments as
-- cmsgpack.pack(ARGV), then the reply text as a hit returns it (cache status 'hit'). A hit is an
-- entry that starts with this script's tag followed by this call's packed arguments: msgpack
-- writes the count and each argument's length before its bytes, so equal bytes mean the same
-- arguments, and one pack and one plain string.find, both in C, prove that the entry answers
-- exactly this call (the same script, version and arguments). A hit then checks nothing else and
-- returns the rest of the entry as it is: one string, never decoded or rebuilt. (Earlier layouts
-- cost more: a SHA1 of the arguments per call; a length and a find per argument, in Lua, which
-- grew with dispatch's 28 arguments; and a stored reply unpacked into a table for Redis to
-- convert value by value, a third of a hit.) The key's form is checked on a miss, before
-- anything is computed or written; a key paired with other arguments (a raw caller's mistake, or
-- a digest collision) is a miss: the script computes, and overwrites the entry with the result of
-- the arguments it was given.
--
-- This file goes first in a script, and its hit check runs as soon as it is included: a hit
-- returns before anything else (these includes too) defines a function.

local CACHE_TAG = SCRIPT_TAG -- '<name> <version>;', written by the build
local CACHE_ARGS -- cmsgpack.pack(ARGV), packed once a stored entry or a store needs it
do
  -- pcall: a key of another type is a miss, and cache_lookup then names it
  local stored = #KEYS == 1 and redis.pcall('GET', KEYS[1])
  if type(stored) == 'string' and string.find(stored, CACHE_TAG, 1, true) == 1 then
    CACHE_ARGS = cmsgpack.pack(ARGV)
    local at = #CACHE_TAG + 1
    if string.find(stored, CACHE_ARGS, at, true) == at then return string.sub(stored, at + #CACHE_ARGS) end
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
    redis.call('SET', KEYS[1], CACHE_TAG .. (CACHE_ARGS or cmsgpack.pack(ARGV)) .. 'cache\nhit\n' .. fields, 'EX', CACHE_TTL_SECONDS)
  end
  return 'cache\nmiss\n' .. fields
end
