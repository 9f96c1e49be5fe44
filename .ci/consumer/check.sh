#!/usr/bin/env bash
# The package as a consumer gets it: pack it, install the tarball with ioredis 6, 5 and the
# peer range's floor into scratch projects, and for each of ESM with NodeNext (and
# exactOptionalPropertyTypes, which strict projects turn on), ESM with
# Bundler resolution and CommonJS type-check consumer.ts (every public export, skipLibCheck off)
# and run it against a throwaway redis-server. Needs a build in dist/ and redis-server on PATH.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tsc="$root/node_modules/typescript/bin/tsc"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

tarball="$work/$(cd "$root" && npm pack --silent --pack-destination "$work" | tail -1)"
echo "packed $(basename "$tarball") ($(du -k "$tarball" | cut -f1) kB)"

# flavour: package type, then tsconfig compiler options
failed=()
declare -A type=([esm-nodenext]=module [esm-bundler]=module [cjs]=commonjs)
declare -A options=(
  [esm-nodenext]='"module": "NodeNext", "moduleResolution": "NodeNext", "exactOptionalPropertyTypes": true'
  [esm-bundler]='"module": "Preserve", "moduleResolution": "Bundler"'
  [cjs]='"module": "NodeNext", "moduleResolution": "NodeNext"'
)

# the peer range's two lines at their newest, and its floor: the oldest ioredis 5 it admits
# (5.2.4 and older have no named export Redis, so the package fails to load on them)
floor=$(node -p "require('$root/package.json').peerDependencies.ioredis.match(/\\^(5\\.\\d+\\.\\d+)/)[1]")
for ioredis in 6 5 "$floor"; do
  dir="$work/ioredis$ioredis"
  mkdir -p "$dir"
  echo '{ "private": true }' >"$dir/package.json"
  (cd "$dir" && npm install --silent --no-audit --no-fund "$tarball" "ioredis@$ioredis" "@types/node@20")
  echo "ioredis $(node -p "require('$dir/node_modules/ioredis/package.json').version")"
  "$dir/node_modules/.bin/mathd" --version # the bin as installed
  for flavour in esm-nodenext esm-bundler cjs; do
    project="$dir/$flavour"
    mkdir -p "$project"
    cp "$here/consumer.ts" "$project/"
    echo "{ \"private\": true, \"type\": \"${type[$flavour]}\" }" >"$project/package.json"
    cat >"$project/tsconfig.json" <<JSON
{
  "compilerOptions": {
    ${options[$flavour]},
    "target": "ES2022", "lib": ["ES2022"], "types": ["node"], "strict": true,
    "skipLibCheck": false, "outDir": "out", "rootDir": "."
  },
  "files": ["consumer.ts"]
}
JSON
    printf '%s, ioredis %s: ' "$flavour" "$ioredis"
    # a consumer that does not exit by itself (a connection left open) fails here, not hangs CI
    if ! { node "$tsc" -p "$project" && timeout 120 node "$project/out/consumer.js"; }; then
      failed+=("$flavour with ioredis $ioredis")
    fi
  done
done
node "$here/coverage.cjs" "$root/node_modules/typescript" "$work/ioredis6/esm-nodenext" || failed+=("export coverage")
# both module forms in one process (one dependency requires the package, another imports it):
# an error made by one copy is an instance of the other copy's class of the same name
dual='
import { createRequire } from "node:module";
const esm = await import("math-dispatcher");
const cjs = createRequire(process.cwd() + "/")("math-dispatcher");
const e = new cjs.InvalidInputError("period", "x");
const ok = esm.MathDispatcherError !== cjs.MathDispatcherError && e instanceof esm.InvalidInputError &&
  e instanceof esm.MathDispatcherError && !(e instanceof esm.ConnectionError);
console.log("both module forms in one process:", ok ? "instanceof holds" : "instanceof fails");
process.exit(ok ? 0 : 1);'
(cd "$work/ioredis6" && node --input-type=module -e "$dual") || failed+=("instanceof across the module forms")
if [ ${#failed[@]} -gt 0 ]; then
  printf 'consumer check failed: %s\n' "${failed[@]}"
  exit 1
fi
