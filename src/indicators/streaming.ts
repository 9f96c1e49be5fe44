/**
 * The streaming reference: ATR, RSI of the bar closes and session VWAP advanced one update at a
 * time with the rules of `lua/stream_update.lua` (ordering by (ts, seq) per indicator, duplicates
 * ignored, ATR and RSI on bars only, VWAP reset at the first tick of a new IST session, pre-open
 * ticks ignored), on decimal.js.
 */
import { sessionOf } from "../market/session.js";
import { AtrReference } from "./atr.js";
import { type Dec, decPrice, type Numeric } from "./decimal.js";
import { RsiReference } from "./rsi.js";
import { VwapReference } from "./vwap.js";
import { type AtrStatus, type VwapStatus } from "../core/defaults.js";

/** A tick (price) or a bar (high, low, close), with its order and volume. */
export interface MarketUpdate {
  /** Exchange timestamp, epoch ms. */
  ts: number;
  /** Sequence number; (ts, seq) orders a symbol's updates. */
  seq: number;
  volume: Numeric;
  price?: Numeric;
  high?: Numeric;
  low?: Numeric;
  close?: Numeric;
}


interface Position {
  ts: number;
  seq: number;
}

function isAfter(last: Position | undefined, u: Position): boolean {
  return !last || u.ts > last.ts || (u.ts === last.ts && u.seq > last.seq);
}

/**
 * The decimal.js oracle of `lua/stream_update.lua`: feed it a symbol's updates in any order with
 * {@link StreamingReference.update} and read ATR, RSI and the session VWAP as the streaming state
 * in Redis would hold them.
 */
export class StreamingReference {
  private readonly atrIndicator: AtrReference;
  private atrLast: Position | undefined;
  private readonly rsiIndicator: RsiReference;
  private rsiLast: Position | undefined;
  private vwapIndicator = new VwapReference(3);
  private vwapLast: Position | undefined;
  private vwapSession: number | undefined;

  /**
   * @param atrPeriod the ATR period (14 for ATR(14)).
   * @param rsiPeriod the RSI period, 14 unless given (as `math.streaming()`'s default).
   */
  constructor(
    readonly atrPeriod: number,
    readonly rsiPeriod = 14,
  ) {
    this.atrIndicator = new AtrReference(atrPeriod);
    this.rsiIndicator = new RsiReference(rsiPeriod);
  }

  /** Applies one update; returns what each indicator did with it. */
  update(u: MarketUpdate): { atrStatus: AtrStatus; vwapStatus: VwapStatus; rsiStatus: AtrStatus } {
    const isBar = u.high !== undefined;
    let atrStatus: AtrStatus = "skipped";
    if (isBar) {
      atrStatus = isAfter(this.atrLast, u) ? "applied" : "duplicate";
      if (atrStatus === "applied") {
        this.atrIndicator.update({ high: u.high as Numeric, low: u.low as Numeric, close: u.close as Numeric });
        this.atrLast = u;
      }
    }
    let rsiStatus: AtrStatus = "skipped";
    if (isBar) {
      rsiStatus = isAfter(this.rsiLast, u) ? "applied" : "duplicate";
      if (rsiStatus === "applied") {
        this.rsiIndicator.update(u.close as Numeric);
        this.rsiLast = u;
      }
    }
    const { session, open } = sessionOf(u.ts);
    let vwapStatus: VwapStatus = "duplicate";
    if (isAfter(this.vwapLast, u)) {
      vwapStatus = open ? "applied" : "preopen";
      if (open) {
        if (this.vwapSession !== session) this.vwapIndicator = new VwapReference(3);
        const x = isBar ? decPrice(u.high as Numeric).plus(decPrice(u.low as Numeric)).plus(decPrice(u.close as Numeric)) : decPrice(u.price as Numeric).times(3);
        this.vwapIndicator.update(x, u.volume);
        this.vwapSession = session;
        this.vwapLast = u;
      }
    }
    return { atrStatus, vwapStatus, rsiStatus };
  }

  /** The current ATR, undefined until `atrPeriod` + 1 bars have been applied. */
  get atr(): Dec | undefined {
    return this.atrIndicator.value;
  }

  /** The current RSI (0..100), undefined until `rsiPeriod` + 1 bars have been applied. */
  get rsi(): Dec | undefined {
    return this.rsiIndicator.value;
  }

  /** The session VWAP, undefined before any volume in the session. */
  get vwap(): VwapReference | undefined {
    return this.vwapSession === undefined || this.vwapIndicator.volume.isZero() ? undefined : this.vwapIndicator;
  }

  /** The IST session of the last applied VWAP update (see `sessionOf`), undefined before any. */
  get session(): number | undefined {
    return this.vwapSession;
  }
}
