/**
 * Average True Range, TA-Lib's definition, on decimal.js: the oracle for `lua/atr.lua`.
 *
 * TR_t = max(H_t - L_t, |H_t - C_t-1|, |L_t - C_t-1|) from the second bar on; the first ATR is the
 * mean of TR_1..TR_n and belongs to bar n + 1; then ATR_t = (ATR_t-1 * (n - 1) + TR_t) / n.
 */
import { Dec, decPrice, type Numeric } from "./decimal.js";
import { InvalidInputError } from "../core/errors.js";

/** A bar as the reference takes it. */
export interface HlcBar {
  high: Numeric;
  low: Numeric;
  close: Numeric;
}

/** Streaming ATR: feed bars one at a time with {@link AtrReference.update}. */
export class AtrReference {
  private bars = 0;
  private prevClose: Dec | undefined;
  private trSum = new Dec(0);
  private current: Dec | undefined;

  constructor(readonly period: number) {
    if (!Number.isInteger(period) || period < 1) throw new InvalidInputError("period", "must be a positive integer");
  }

  /** Applies one bar; returns the ATR after it, or undefined before the first period + 1 bars. */
  update(bar: HlcBar): Dec | undefined {
    const high = decPrice(bar.high);
    const low = decPrice(bar.low);
    const close = decPrice(bar.close);
    this.bars += 1;
    if (this.prevClose !== undefined) {
      const trueRange = Dec.max(high.minus(low), high.minus(this.prevClose).abs(), low.minus(this.prevClose).abs());
      const ranges = this.bars - 1;
      if (ranges <= this.period) {
        this.trSum = this.trSum.plus(trueRange);
        if (ranges === this.period) this.current = this.trSum.div(this.period);
      } else {
        this.current = (this.current as Dec).times(this.period - 1).plus(trueRange).div(this.period);
      }
    }
    this.prevClose = close;
    return this.current;
  }

  /** The latest ATR, or undefined until period + 1 bars were seen. */
  get value(): Dec | undefined {
    return this.current;
  }
}

/** Batch ATR over `bars`: the last ATR, NATR (ATR / last close * 100) and the whole series. */
export function atrReference(bars: readonly HlcBar[], period: number): { atr: Dec; natr: Dec; series: Dec[] } {
  if (bars.length < period + 1) throw new InvalidInputError("bars", `ATR(${period}) needs at least ${period + 1} bars`);
  const indicator = new AtrReference(period);
  const series: Dec[] = [];
  for (const bar of bars) {
    const value = indicator.update(bar);
    if (value !== undefined) series.push(value);
  }
  const atr = indicator.value as Dec;
  const lastClose = decPrice((bars[bars.length - 1] as HlcBar).close);
  return { atr, natr: atr.div(lastClose).times(100), series };
}
