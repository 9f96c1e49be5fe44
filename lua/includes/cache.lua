-- Result cache in the script's own database (DB 10), inside the same call that computes.
-- The caller names the entry, pattern_cache:<name>:v<version>:<symbol>:<sha1 of the arguments>;
-- the script checks that the key belongs to this very script version. An entry holds the reply
-- together with the arguments that produced it (one cmsgpack.pack call: measured cheaper than
-- cjson plus a length-prefixed blob built in Lua), and a hit requires every stored argument to
-- equal this call's: Lua interns strings, so each comparison is a pointer test after reading the
-- stored copy, where hashing the arguments in the script cost a SHA1 pass per call.
-- A key paired with other arguments (a raw caller's mistake, or a digest collision) is a miss:
-- the script computes, and overwrites the entry with the result of the arguments it was given.
-- This file goes first in a script: a hit returns before the rest of the script defines its
-- functions.
-- @include "keys"

local CACHE_TTL_SECONDS = 57600

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

-- The cached reply for exactly these arguments, or nil.
local function cache_lookup()
  cache_check_key()
  local stored = redis.call('GET', KEYS[1])
  if not stored then return nil end
  local entry = { cmsgpack.unpack(stored) }
  if #entry ~= #ARGV + 1 then return nil end
  for i = 1, #ARGV do
    if entry[i + 1] ~= ARGV[i] then return nil end
  end
  local reply = entry[1]
  reply[2] = 'hit'
  return reply
end

-- Stores and returns a reply that starts with 'cache', 'miss'.
local function cache_store(reply)
  redis.call('SET', KEYS[1], cmsgpack.pack(reply, unpack(ARGV)), 'EX', CACHE_TTL_SECONDS)
  return reply
end
