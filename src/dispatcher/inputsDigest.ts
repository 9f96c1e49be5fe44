import { createHash } from "node:crypto";

/**
 * SHA1 over a script's ARGV, each argument prefixed by its byte length and a colon, exactly as
 * `lua/includes/cache.lua` computes it; the script refuses a cache key whose digest differs.
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
