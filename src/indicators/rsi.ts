/**
 * Relative Strength Index, TA-Lib's definition (TA_RSI), on decimal.js: the oracle for
 * `lua/rsi.lua`.
 *
 * From the second close on, gain = max(C_t - C_t-1, 0) and loss = max(C_t-1 - C_t, 0). The first
 * averages are the means of the first n gains and losses and belong to close n + 1; then
 * avg_t = (avg_t-1 * (n - 1) + x_t) / n (Wilder). RSI = 100 * gain / (gain + loss), 0 when both
 * averages are 0.
 */
import { Dec, decPrice, type Numeric } from "./decimal.js";
import { InvalidInputError } from "../core/errors.js";

/** Streaming RSI: feed closes one at a time with {@link RsiReference.update}. */
export class RsiReference {
  private closes = 0;
  private prev: Dec | undefined;
  private gainSum = new Dec(0);
  private lossSum = new Dec(0);
  private gain: Dec | undefined;
  private loss: Dec | undefined;

  constructor(readonly period: number) {
    if (!Number.isInteger(period) || period < 2) throw new InvalidInputError("period", "must be an integer of at least 2");
  }

  /** Applies one close; returns the RSI after it, or undefined before the first period + 1 closes. */
  update(close: Numeric): Dec | undefined {
    const c = decPrice(close);
    this.closes += 1;
    if (this.prev !== undefined) {
      const change = c.minus(this.prev);
      const gain = change.gt(0) ? change : new Dec(0);
      const loss = change.lt(0) ? change.neg() : new Dec(0);
      if (this.closes <= this.period + 1) {
        this.gainSum = this.gainSum.plus(gain);
        this.lossSum = this.lossSum.plus(loss);
        if (this.closes === this.period + 1) {
          this.gain = this.gainSum.div(this.period);
          this.loss = this.lossSum.div(this.period);
        }
      } else {
        this.gain = (this.gain as Dec).times(this.period - 1).plus(gain).div(this.period);
        this.loss = (this.loss as Dec).times(this.period - 1).plus(loss).div(this.period);
      }
    }
    this.prev = c;
    return this.value;
  }

  /** The latest RSI, or undefined until period + 1 closes were seen. */
  get value(): Dec | undefined {
    if (this.gain === undefined || this.loss === undefined) return undefined;
    const total = this.gain.plus(this.loss);
    return total.isZero() ? new Dec(0) : this.gain.div(total).times(100);
  }

  /** The average gain and loss, in price, once seeded. */
  get averages(): { gain: Dec; loss: Dec } | undefined {
    return this.gain && this.loss ? { gain: this.gain, loss: this.loss } : undefined;
  }
}

/** Batch RSI over `closes`: the last RSI, its averages and the whole series. */
export function rsiReference(closes: readonly Numeric[], period: number): { rsi: Dec; avgGain: Dec; avgLoss: Dec; series: Dec[] } {
  if (closes.length < period + 1) throw new InvalidInputError("closes", `RSI(${period}) needs at least ${period + 1} closes`);
  const indicator = new RsiReference(period);
  const series: Dec[] = [];
  for (const close of closes) {
    const value = indicator.update(close);
    if (value !== undefined) series.push(value);
  }
  const { gain, loss } = indicator.averages as { gain: Dec; loss: Dec };
  return { rsi: indicator.value as Dec, avgGain: gain, avgLoss: loss, series };
}
