/**
 * How much one command of the control plane may take in a loop over data of unknown size (a
 * day's tick stream, a dead consumer's pending entries, a database's keys). Each page is one
 * command that Redis serves while every other client of the shared core waits, so each is sized
 * to hold Redis well under the 2 ms a script call may. Measured on the 2-core VM of
 * docs/SCALING.md (SLOWLOG, a stream of 20,000 ticks, all pending): XRANGE of 10,000 entries
 * 10-25 ms and of 500 0.6-0.7 ms; XAUTOCLAIM of 1,000 entries 9.3-9.6 ms (it rewrites and
 * propagates each claim) and of 200 1.6-1.9 ms; XPENDING of 1,000 entries 0.6-0.7 ms. The bench
 * measures each page ("control plane", bench/serverTime.ts) against its floor.
 */

/**
 * Entries one XREADGROUP of the tick consumer may return over all its streams (streams in
 * groups of 8 at 32 entries each). Reading 200 streams in one command returned up to 6,400
 * entries and held Redis 11-14 ms; 16 streams of 32, 1.0-1.7 ms; 8 of 32, 0.8-0.9 ms.
 */
export const READ_GROUP_PAGE = 256;

/** XRANGE entries per page: `mathd chart --symbol` reading a tick stream. */
export const STREAM_READ_PAGE = 500;

/** XAUTOCLAIM entries per call: the tick consumer taking over a stopped consumer's entries. */
export const CLAIM_PAGE = 100;

/** XPENDING entries per page: the tick consumer reading how long others' entries have been idle. */
export const PENDING_PAGE = 1000;

/** SCAN's COUNT: the health report's key sample. */
export const SCAN_PAGE = 200;
