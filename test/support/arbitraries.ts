/**
 * fast-check generators of realistic market data: prices on the 0.05 tick grid (as numbers whose
 * shortest decimal text is the grid price), high >= max(open, close) >= min(open, close) >= low,
 * a random walk around a level from Rs 1 to Rs 50,000, volumes 0..1e9.
 */
import fc from "fast-check";

export const TICK_UNITS = 500; // 0.05 in price units of 0.0001

/** A price from a whole number of 0.05 ticks. */
export function tickPrice(ticks: number): number {
  return (ticks * TICK_UNITS) / 10_000;
}

export interface GeneratedBar {
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

const barStep = fc.record({
  drift: fc.integer({ min: -40, max: 40 }),
  range: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 400 })),
  openAt: fc.double({ min: 0, max: 1, noNaN: true }),
  closeAt: fc.double({ min: 0, max: 1, noNaN: true }),
  volume: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 1_000_000_000 })),
});

/** A series of `minLength`..`maxLength` bars. */
export function barSeries(minLength: number, maxLength: number): fc.Arbitrary<GeneratedBar[]> {
  return fc
    .record({
      level: fc.oneof(fc.integer({ min: 20, max: 2_000 }), fc.integer({ min: 2_000, max: 1_000_000 })),
      // the length is drawn uniformly so that long series really occur (fc.array favours short ones)
      steps: fc
        .integer({ min: minLength, max: maxLength })
        .chain((length) => fc.array(barStep, { minLength: length, maxLength: length })),
    })
    .map(({ level, steps }) => {
      let low = level;
      return steps.map((step) => {
        low = Math.max(1, low + step.drift);
        const high = low + step.range;
        const at = (fraction: number) => low + Math.round(fraction * step.range);
        return {
          open: tickPrice(at(step.openAt)),
          high: tickPrice(high),
          low: tickPrice(low),
          close: tickPrice(at(step.closeAt)),
          volume: step.volume,
        };
      });
    });
}

/** Ticks (price, volume) with at least one positive volume. */
export function tickSeries(minLength: number, maxLength: number) {
  return barSeries(minLength, maxLength)
    .map((bars) => bars.map((b) => ({ price: b.close, volume: b.volume })))
    .filter((ticks) => ticks.some((t) => t.volume > 0));
}
