#!/usr/bin/env bash
# A math-dispatcher script called from a shell with redis-cli: the same Lua, the same result as
# the TypeScript SDK and the Python client. Reads the manifest (mathd scripts manifest --out FILE),
# loads the script, builds the cache key and calls EVALSHA with the arguments in the order the
# script's header declares (mathd scripts manifest lists them under "args").
#
#   examples/redis-cli/call-script.sh MANIFEST SCRIPT SYMBOL [ARG...]
#   examples/redis-cli/call-script.sh manifest.json stop_loss BANKNIFTY long 51768.85 53.14 1.5 0.05 '' '' 2
#
# REDIS_URL picks the server (default redis://127.0.0.1:6379). Prints the reply, one field and
# one value per line. Arguments are text; a script's binary argument (ATR's packed bars) goes
# last and can be sent from a file with redis-cli -x. Needs redis-cli, jq and sha1sum.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 MANIFEST SCRIPT SYMBOL [ARG...]" >&2; exit 64; }
manifest=$1 script=$2 symbol=$3
shift 3

# -j: raw text, nothing added (a script's text must keep its exact bytes, final newline included)
field() { jq -ej --arg name "$script" ".scripts[] | select(.name == \$name) | .$1" "$manifest"; }
version=$(field version) || { echo "no script $script in $manifest" >&2; exit 65; }
sha1=$(field sha1)
db=$(jq -r .cacheDb "$manifest")
cli=(redis-cli -u "${REDIS_URL:-redis://127.0.0.1:6379}" -n "$db")

# SCRIPT LOAD is idempotent and returns the SHA1 of the text: it must be the manifest's. The text
# goes through stdin (-x), as "$(...)" would drop its final newline and change the SHA1.
loaded=$(field source | "${cli[@]}" -x SCRIPT LOAD)
[ "$loaded" = "$sha1" ] || { echo "SCRIPT LOAD returned $loaded, manifest says $sha1" >&2; exit 70; }

# the cache key's digest: SHA1 over the arguments, each as <byte length>:<bytes>
digest=$(for arg in "$@"; do printf '%d:%s' "$(printf '%s' "$arg" | wc -c)" "$arg"; done | sha1sum | cut -c1-40)
"${cli[@]}" EVALSHA "$sha1" 1 "pattern_cache:$script:v$version:$symbol:$digest" "$@"
