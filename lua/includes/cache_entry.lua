-- The entries of the result cache in the script's own database (DB 10), written inside the same
-- call that computes: the hit check, and cache_store, which writes an entry. The caller names the
-- entry, pattern_cache:<name>:v<version>:<symbol>:<sha1 of the arguments>. cache.lua includes this
-- file and then checks the key's form; a script with a fast path (atr.lua) includes this file
-- alone first, so that its fast path runs with nothing else defined.
--
-- An entry is one string: the tag '<name> <version>;', the argument count, the byte length of
-- each argument and of the reply text (struct '<I4' each), the reply text as a hit returns it
-- (cache status 'hit'), then the arguments back to back. A hit is an entry that starts with this
-- script's tag, has this call's count and lengths, and holds each of this call's arguments at its
-- place: one plain string.find per argument, comparing bytes in C without building a string.
-- That proves the entry answers exactly this call (the same script, version and arguments), so a
-- hit checks nothing else and returns the reply text as it is: one string, never decoded or
-- rebuilt, where unpacking a stored reply into a table for Redis to convert cost a third of a
-- hit. Hashing the arguments cost a SHA1 pass per call. The key's form is checked on a miss,
-- before anything is computed or written; a key paired with other arguments (a raw caller's
-- mistake, or a digest collision) is a miss: the script computes, and overwrites the entry with
-- the result of the arguments it was given.
--
-- cache_store, which the build writes from the header at the end of this file (src/build/argSpec.ts,
-- luaCacheStore), builds the entry in one concatenation and writes it with one SET, which Redis
-- keeps at its length. Building it costs: Redis's Lua hashes every byte of a string it interns
-- (stock Lua samples 32), about 11 instructions a byte, 65k for a 375-tick vwap entry of 6 KB.
-- Leaving the packed points to an APPEND would save that but double the entry's memory (Redis
-- grows an appended string greedily and never trims it: 14.5 KB of DB 10 for that entry). Memory
-- is what a shared Redis runs out of, and where a fresh page is dear to touch (15-24 us on the VM
-- of docs/SCALING.md, "Memory") the pages a miss saves outweigh the hashing.
--
-- This file goes first in a script, and its hit check runs as soon as it is included: a hit
-- returns before anything else (these includes too) defines a function. The argument count is
-- the header's, so the check reads the count and every length with one struct.unpack.

local CACHE_TAG = SCRIPT_TAG -- '<name> <version>;', written by the build
-- the hit check, which the build writes here from the header (src/build/argSpec.ts, luaCacheHit):
-- @cache_hit
local CACHE_TTL_SECONDS = TTL_SECONDS_TEXT -- the build writes a limit's value as text: Redis takes it as it is

-- The start of every cache key of this script version (a miss builds it once, FCALL at load).
local CACHE_KEY_PREFIX = 'pattern_cache:' .. SCRIPT_NAME .. ':v' .. SCRIPT_VERSION .. ':'

-- Whether a miss stores its reply. The read-only variant of a script (for replicas:
-- src/build/luaBuild.ts, readOnlyVariant) sets it to false: a miss computes and is not stored.
local CACHE_WRITES = true
