-- Result cache in the script's own database (DB 10), inside the same call that computes.
-- The caller builds the key, pattern_cache:<name>:v<version>:<symbol>:<sha1 of the arguments>;
-- the script checks that it names this very script version and these exact arguments, so it can
-- never serve another version's result or a result for other inputs.
-- @include "validate"

local CACHE_TTL_SECONDS = 57600

-- SHA1 over the arguments, each prefixed by its length so that no two argument lists collide.
local function inputs_digest()
  local parts = {}
  for i = 1, #ARGV do
    parts[i] = #ARGV[i] .. ':' .. ARGV[i]
  end
  return redis.sha1hex(table.concat(parts))
end

local function cache_check_key(key)
  local prefix = 'pattern_cache:' .. SCRIPT_NAME .. ':v' .. SCRIPT_VERSION .. ':'
  local suffix = ':' .. inputs_digest()
  local symbol = key and string.sub(key, #prefix + 1, -#suffix - 1)
  if not key or string.sub(key, 1, #prefix) ~= prefix or string.sub(key, -#suffix) ~= suffix
      or not string.find(symbol, '^{?[A-Z0-9][A-Z0-9&_.-]*}?$') then
    invalid('cache_key', 'must be ' .. prefix .. '<symbol>' .. suffix)
  end
end

local function with_cache_status(status, fields)
  local reply = { 'cache', status }
  for i = 1, #fields do
    reply[#reply + 1] = fields[i]
  end
  return reply
end

-- The cached reply for these arguments, or nil. Values are strings, so cjson keeps them exact.
local function cache_lookup(key)
  cache_check_key(key)
  local stored = redis.call('GET', key)
  if stored then return with_cache_status('hit', cjson.decode(stored)) end
  return nil
end

local function cache_store(key, fields)
  redis.call('SET', key, cjson.encode(fields), 'EX', CACHE_TTL_SECONDS)
  return with_cache_status('miss', fields)
end
