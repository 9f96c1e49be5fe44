import { Buffer } from "node:buffer"; // the global Buffer is a getter, called on every use
import { createHash } from "node:crypto";

/**
 * SHA1 over a script's ARGV: the last segment of the cache key, so that different inputs get
 * different entries. The script does not recompute it (that cost a SHA1 pass per call); it keeps
 * the arguments in the entry and answers from the cache only when they equal the call's
 * (`lua/includes/cache.lua`). The in-process result tier trusts the key alone, which is why this
 * stays a cryptographic digest rather than a cheaper hash.
 *
 * The hashed bytes are a header, then the Buffer arguments' bytes in order. The header holds the
 * number of arguments and, for each, `;` and its byte length, followed by `:` and its text for
 * a string argument: lengths make the layout unambiguous, and the short text arguments cost one
 * update together instead of a Buffer and two updates each.
 */
export function inputsDigest(args: readonly (string | Buffer)[]): string {
  let header = String(args.length);
  for (const arg of args) header += typeof arg === "string" ? `;${Buffer.byteLength(arg)}:${arg}` : `;${arg.length}`;
  const hash = createHash("sha1").update(`${header};`);
  for (const arg of args) if (typeof arg !== "string") hash.update(arg);
  return hash.digest("hex");
}
