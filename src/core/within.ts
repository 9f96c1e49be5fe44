/**
 * `work`'s result, or a rejection with `late()` once `ms` have passed, whichever comes first. The
 * timer is cleared either way, and a failure of `work` after the time ran out, which nobody waits
 * for any more, is swallowed rather than left unhandled.
 */
export async function within<T>(work: Promise<T>, ms: number, late: () => Error): Promise<T> {
  work.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(late()), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
