/** Repetition and summary: every figure is min / median / max over `reps` runs. */
export interface Spread {
  min: number;
  median: number;
  max: number;
}

export function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0] as number, median: sorted[Math.floor(sorted.length / 2)] as number, max: sorted[sorted.length - 1] as number };
}

/** Operations per second of `count` sequential awaits of `op`. */
export async function opsPerSecond(count: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await op(i);
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

/** Seconds of one run of `fn`. */
export async function seconds(fn: () => Promise<unknown> | unknown): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e9;
}
