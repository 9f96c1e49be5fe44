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

/** The bytes {@link inputsDigest} hashes; grown to the longest call's arguments, never shrunk. */
let scratch = Buffer.allocUnsafeSlow(4096);

/**
 * SHA1 over a script's ARGV, each argument prefixed by its byte length and a colon: the last
 * segment of the cache key, so that different inputs get different entries. Other clients compute
 * the same digest to share the cache (examples/python/mathd_client.py), so this layout is a
 * contract. The script does not recompute it (that cost a SHA1 pass per call); it keeps the
 * arguments in the entry and answers from the cache only when they equal the call's
 * (`lua/includes/cache_entry.lua`). The in-process result tier trusts the key alone, which is why this
 * stays a cryptographic digest rather than a cheaper hash.
 *
 * The bytes are laid out in one scratch Buffer that every call reuses (the hash is taken before
 * the function returns, so no call sees another's bytes) and hashed at once: no Buffer per call,
 * no Hash object fed piece by piece, and one write for each run of text arguments.
 */
export function inputsDigest(args: readonly (string | Buffer)[]): string {
  let size = 0;
  for (const arg of args) size += 16 + (typeof arg === "string" ? 3 * arg.length : arg.length); // a UTF-16 unit takes at most 3 bytes
  if (scratch.length < size) scratch = Buffer.allocUnsafeSlow(Math.max(size, 2 * scratch.length));
  let at = 0;
  let text = "";
  for (const arg of args) {
    if (typeof arg === "string") {
      text += `${Buffer.byteLength(arg)}:${arg}`;
    } else {
      at += scratch.write(`${text}${arg.length}:`, at);
      at += arg.copy(scratch, at);
      text = "";
    }
  }
  if (text !== "") at += scratch.write(text, at);
  return sha1Hex(scratch.subarray(0, at));
}
