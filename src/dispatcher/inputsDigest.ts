import { Buffer } from "node:buffer"; // the global Buffer is a getter, called on every use
import * as crypto from "node:crypto";

/**
 * Hex SHA1 of some bytes: one-shot where Node has `crypto.hash` (20.12 and later), which builds
 * no Hash object for the garbage collector to track, else through a Hash.
 */
const sha1Hex: (data: Buffer) => string =
  typeof crypto.hash === "function"
    ? (data) => crypto.hash("sha1", data, "hex")
    : (data) => crypto.createHash("sha1").update(data).digest("hex");

/**
 * SHA1 over a script's ARGV: the last segment of the cache key, so that different inputs get
 * different entries. The script does not recompute it (that cost a SHA1 pass per call); it keeps
 * the arguments in the entry and answers from the cache only when they equal the call's
 * (`lua/includes/cache.lua`). The in-process result tier trusts the key alone, which is why this
 * stays a cryptographic digest rather than a cheaper hash.
 *
 * The hashed bytes are a header, then the Buffer arguments' bytes in order. The header holds the
 * number of arguments and, for each, `;` and its byte length, followed by `:` and its text for
 * a string argument: lengths make the layout unambiguous, and everything is hashed in one piece.
 */
export function inputsDigest(args: readonly (string | Buffer)[]): string {
  let header = String(args.length);
  let size = 0;
  for (const arg of args) {
    if (typeof arg === "string") header += `;${Buffer.byteLength(arg)}:${arg}`;
    else {
      header += `;${arg.length}`;
      size += arg.length;
    }
  }
  header += ";";
  const bytes = Buffer.allocUnsafe(Buffer.byteLength(header) + size);
  let at = bytes.write(header);
  for (const arg of args) if (typeof arg !== "string") at += arg.copy(bytes, at);
  return sha1Hex(bytes);
}
