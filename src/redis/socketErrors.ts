/**
 * ioredis listens for one error per socket (`stream.once("error")`), but a TLS socket can raise
 * two: the refusal (an alert, or a certificate the server will not take) and then the reset that
 * follows it. With no listener left, Node throws that second error as an uncaught exception, and a
 * process whose handshake a server refused under load could crash. These helpers give every
 * socket a listener of its own; ioredis still sees and reports the first error.
 */
import type { Cluster, Redis } from "ioredis";

const ignoreSocketError = (): void => undefined;

/** Gives the socket `redis` holds right now a listener for late errors (once per socket). */
export function absorbSocketErrors(redis: Redis): void {
  const socket = redis.stream;
  if (socket && !socket.listeners("error").includes(ignoreSocketError)) socket.on("error", ignoreSocketError);
}

/**
 * Guards every socket `redis` opens: when it connects, and when it fails before connecting
 * (the first error still reaches ioredis, whose handler runs before this one's). A Cluster's
 * node connections are its own, so it is guarded node by node as they appear.
 */
export function guardSocketErrors(redis: Redis | Cluster): void {
  if (redis.isCluster) {
    redis.on("+node", (node: Redis) => guardSocketErrors(node));
    return;
  }
  const single = redis as Redis;
  const absorb = () => absorbSocketErrors(single);
  single.on("connect", absorb);
  single.on("error", absorb);
}
