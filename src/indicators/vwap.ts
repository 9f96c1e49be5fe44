/**
 * Volume-weighted average price and its volume-weighted population standard deviation, on
 * decimal.js: the oracle for `lua/vwap.lua`. With 60 significant digits the sums of w, w*p and
 * w*p^2 are exact for any session the scripts accept, so the plain formula
 * sigma^2 = sum(w p^2) / W - VWAP^2 has no cancellation here (unlike in doubles).
 */
import { Dec, dec, decPrice, type Numeric } from "./decimal.js";
import { InvalidInputError } from "../core/errors.js";

/** A tick: a trade price and its volume. */
export interface Tick {
  price: Numeric;
  volume: Numeric;
}

/** A bar with volume; its price is the typical price (H + L + C) / 3. */
export interface VolumeBar {
  high: Numeric;
  low: Numeric;
  close: Numeric;
  volume: Numeric;
}

/** A VWAP band: VWAP -/+ k sigma. */
export interface VwapBand {
  k: Dec;
  lower: Dec;
  upper: Dec;
}

/** Streaming VWAP: feed ticks with {@link VwapReference.update}. */
export class VwapReference {
  private weight = new Dec(0);
  private weightedPrice = new Dec(0);
  private weightedSquare = new Dec(0);
  private count = 0;

  /**
   * @param divisor prices fed to `update` are this multiple of the real price: 3 for bars fed as
   *   H + L + C, which keeps every sum exact where (H + L + C) / 3 would round.
   */
  constructor(private readonly divisor: Numeric = 1) {}

  /** Applies one price and volume. */
  update(price: Numeric, volume: Numeric): void {
    const p = decPrice(price);
    const w = dec(volume);
    this.count += 1;
    this.weight = this.weight.plus(w);
    this.weightedPrice = this.weightedPrice.plus(w.times(p));
    this.weightedSquare = this.weightedSquare.plus(w.times(p).times(p));
  }

  /** How many prices have been applied. */
  get points(): number {
    return this.count;
  }

  /** The total volume applied. */
  get volume(): Dec {
    return this.weight;
  }

  /** The VWAP; an InvalidInputError while the total volume is zero. */
  get vwap(): Dec {
    if (this.weight.isZero()) throw new InvalidInputError("points", "total volume is zero, VWAP is undefined");
    return this.weightedPrice.div(this.weight).div(this.divisor);
  }

  /** The volume-weighted population standard deviation of price. */
  get sigma(): Dec {
    const scaledMean = this.weightedPrice.div(this.weight);
    return this.weightedSquare.div(this.weight).minus(scaledMean.times(scaledMean)).sqrt().div(this.divisor);
  }

  /** Bands VWAP -/+ k sigma for each multiplier. */
  bands(multipliers: readonly Numeric[]): VwapBand[] {
    const { vwap, sigma } = this;
    return multipliers.map((m) => {
      const k = dec(m);
      return { k, lower: vwap.minus(k.times(sigma)), upper: vwap.plus(k.times(sigma)) };
    });
  }
}

/** Batch VWAP over ticks. */
export function vwapOfTicks(ticks: readonly Tick[]): VwapReference {
  const reference = new VwapReference();
  for (const tick of ticks) reference.update(tick.price, tick.volume);
  return reference;
}

/** Batch VWAP over bars, each at its typical price. */
export function vwapOfBars(bars: readonly VolumeBar[]): VwapReference {
  const reference = new VwapReference(3);
  for (const bar of bars) reference.update(dec(bar.high).plus(bar.low).plus(bar.close), bar.volume);
  return reference;
}
