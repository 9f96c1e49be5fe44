/**
 * How late a timer may fire before it says the process was busy in its own code, not that the
 * time ran out on the other side (timers run a few ms late on a loaded machine).
 */
export const LATE_WAKEUP_MS = 20;

/**
 * `work`'s result, or a rejection with `late()` once `ms` have passed, whichever comes first. The
 * timer is cleared either way, and a failure of `work` after the time ran out, which nobody waits
 * for any more, is swallowed rather than left unhandled. The timer's verdict waits for the I/O of
 * its turn of the event loop (`setImmediate` runs after it): a process busy in its own code past
 * `ms` finds its timers expired before it reads the replies already on its sockets, and work they
 * complete came in time. With `creditStalls`, for a wait that measures the other side (is a server
 * reachable?), a timer that fired late gives the work again the time the process lost, the whole
 * wait lasting twice `ms` at most: the round trips it could not start while busy are not the other
 * side's delay.
 */
export async function within<T>(work: Promise<T>, ms: number, late: () => Error, options?: { creditStalls?: boolean }): Promise<T> {
  work.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  let verdict: NodeJS.Immediate | undefined;
  // with creditStalls the wait ends by twice `ms` after it began, however late its timers fire
  const end = Date.now() + 2 * ms;
  const timeout = new Promise<never>((_, reject) => {
    const arm = (wait: number) => {
      const due = Date.now() + wait;
      timer = setTimeout(() => {
        const now = Date.now();
        const credit = options?.creditStalls ? Math.min(now - due, end - now) : 0;
        if (credit > LATE_WAKEUP_MS) arm(credit);
        else verdict = setImmediate(() => reject(late()));
      }, wait);
    };
    arm(ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
    if (verdict) clearImmediate(verdict);
  }
}
