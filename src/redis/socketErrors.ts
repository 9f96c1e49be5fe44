/**
 * ioredis listens for one error per socket (`stream.once("error")`), but a TLS socket can raise
 * two: the refusal (an alert, or a certificate the server will not take) and then the reset that
 * follows it. With no listener left, Node throws that second error as an uncaught exception, and a
 * process whose handshake a server refused under load could crash. These helpers give every
 * socket a listener of its own; ioredis still sees and reports the first error.
 */
import type { Socket } from "node:net";
import type { Cluster, Redis } from "ioredis";

/** Errors that ended a socket the server had sent nothing on (see {@link endedBeforeAnyAnswer}). */
const errorsBeforeAnyAnswer = new WeakSet<object>();

/**
 * Counts the bytes read, never listens for data: a 'data' listener of its own, added before
 * ioredis's (ioredis 5 adds its own after the connect event), took the first reply from it.
 */
function absorbSocketError(this: Socket, error: unknown): void {
  if (this.bytesRead === 0 && typeof error === "object" && error !== null) errorsBeforeAnyAnswer.add(error);
}

/**
 * Whether `error` ended a plain socket on which the server had sent nothing: a TLS port resets a
 * plain client so, before any answer (its TLS alert is no data to a plain socket). Known for the
 * sockets {@link guardSocketErrors} guards, and only from their connection on. A TLS socket has
 * read its handshake, so it never counts.
 */
export function endedBeforeAnyAnswer(error: unknown): boolean {
  return typeof error === "object" && error !== null && errorsBeforeAnyAnswer.has(error);
}

/**
 * Gives the socket `redis` holds right now a listener for late errors (once per socket). It runs
 * before ioredis's own, so that whoever hears ioredis's error event can already ask
 * {@link endedBeforeAnyAnswer}.
 */
export function absorbSocketErrors(redis: Redis): void {
  const socket = redis.stream;
  if (socket && !socket.listeners("error").includes(absorbSocketError)) socket.prependListener("error", absorbSocketError);
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
