import type { Redis } from "ioredis";

/** Whether the first consumer group of `stream` has read and acknowledged every entry (pending 0, lag 0). */
export async function groupCaughtUp(redis: Redis, stream: string): Promise<boolean> {
  const groups = (await redis.xinfo("GROUPS", stream).catch(() => [])) as unknown[][];
  const group = groups[0] ?? [];
  const field = (name: string) => group[group.indexOf(name) + 1];
  return group.length > 0 && field("pending") === 0 && field("lag") === 0;
}
