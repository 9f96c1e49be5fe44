/**
 * Builds `lua/` into `src/generated/scripts.ts` (src/build/manifestModule.ts says what it holds)
 * and checks `lua/versions.lock`: a script whose built text changed must have a new @version
 * (src/build/versionLock.ts); the lock is written anew when it is missing or versions moved on.
 * Run by `npm run lua:build`; exits 1 with file:line on a build error or a forgotten bump.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildAll, LuaBuildError } from "../src/build/luaBuild.js";
import { manifestModule } from "../src/build/manifestModule.js";
import { checkVersions, formatLock, parseLock } from "../src/build/versionLock.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const luaDir = join(root, "lua");
const lockFile = join(luaDir, "versions.lock");
const outFile = join(root, "src", "generated", "scripts.ts");

try {
  const scripts = buildAll(luaDir);
  const lock = existsSync(lockFile) ? parseLock(readFileSync(lockFile, "utf8")) : new Map();
  const { problems, next } = checkVersions(scripts, lock);
  if (problems.length > 0) {
    console.error(`lua build failed: lua/versions.lock:\n${problems.map((p) => `  ${p}`).join("\n")}`);
    process.exit(1);
  }
  const lockText = formatLock(next);
  if (!existsSync(lockFile) || readFileSync(lockFile, "utf8") !== lockText) writeFileSync(lockFile, lockText);
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, manifestModule(scripts));
  console.log(`lua: built ${scripts.length} scripts (${scripts.map((s) => `${s.name}@${s.version}`).join(", ")})`);
} catch (error) {
  if (error instanceof LuaBuildError) {
    console.error(`lua build failed: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
