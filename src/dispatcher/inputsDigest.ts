import { createHash } from "node:crypto";

/**
 * SHA1 over a script's ARGV, each argument prefixed by its byte length and a colon: the last
 * segment of the cache key, so that different inputs get different entries. The script does not
 * recompute it (that cost a SHA1 pass per call); it keeps the arguments in the entry and answers
 * from the cache only when they equal the call's (`lua/includes/cache.lua`).
 */
export function inputsDigest(args: readonly (string | Buffer)[]): string {
  const hash = createHash("sha1");
  for (const arg of args) {
    const bytes = typeof arg === "string" ? Buffer.from(arg, "utf8") : arg;
    hash.update(`${bytes.length}:`);
    hash.update(bytes);
  }
  return hash.digest("hex");
}
