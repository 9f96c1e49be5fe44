import { afterAll, describe, expect, it } from "vitest";
import { FUNCTION_NAMES, type FunctionName } from "../../src/dispatcher/functions.js";
import { atrReference } from "../../src/indicators/atr.js";
import { confidenceReference } from "../../src/indicators/confidence.js";
import { Dec } from "../../src/indicators/decimal.js";
import { newsBoostReference } from "../../src/indicators/newsBoost.js";
import { positionSizeReference } from "../../src/indicators/positionSize.js";
import { rsiReference } from "../../src/indicators/rsi.js";
import { stopLossReference } from "../../src/indicators/stopLoss.js";
import { vwapOfTicks } from "../../src/indicators/vwap.js";
import { type FunctionKit, functionContract } from "../support/contract.js";
import { sharedDispatcher } from "../support/dispatcher.js";

const dispatcher = sharedDispatcher();
const functionsDispatcher = sharedDispatcher({ scriptMode: "functions" });
afterAll(() => Promise.all([dispatcher.close(), functionsDispatcher.close()]));

const bars = Array.from({ length: 20 }, (_, i) => ({ high: 101 + (i % 3), low: 99 + (i % 2) * 0.5, close: 100 + (i % 4) * 0.25 }));
const ticks = [{ price: 100, volume: 5 }, { price: 100.05, volume: 7 }, { price: 99.95, volume: 3 }];
const NOW = Date.UTC(2026, 10, 25, 4, 5);
const news = [{ sentiment: 0.6, relevance: 0.9, publishedAt: NOW - 600_000 }, { sentiment: -0.2, relevance: 0.5, publishedAt: NOW - 60_000 }];

/** One kit per registered function: adding a function without one fails the test below. */
const KITS: { [K in FunctionName]: FunctionKit<K> } = {
  atr: {
    input: { symbol: "X", period: 14, bars },
    reference: (i) => {
      const r = atrReference(i.bars, i.period);
      return { atr: r.atr, natr: r.natr };
    },
    invalid: { input: { symbol: "X", period: 0, bars }, field: "period" },
    rawInvalid: { arg: "period", value: "0x10", field: "period" },
  },
  vwap: {
    input: { symbol: "X", ticks, bands: [1] },
    reference: () => {
      const r = vwapOfTicks(ticks);
      return { vwap: r.vwap, sigma: r.sigma };
    },
    invalid: { input: { symbol: "X", ticks: [{ price: -1, volume: 1 }] }, field: "ticks[0].price" },
    rawInvalid: { arg: "bands", value: "inf", field: "bands[0]" },
  },
  rsi: {
    input: { symbol: "X", period: 5, closes: bars.map((b) => b.close) },
    reference: (i) => {
      const r = rsiReference(i.closes, i.period);
      return { rsi: r.rsi, avgGain: r.avgGain, avgLoss: r.avgLoss };
    },
    invalid: { input: { symbol: "X", period: 1, closes: [1, 2, 3] }, field: "period" },
    rawInvalid: { arg: "series", value: "yes", field: "series" },
  },
  stopLoss: {
    input: { symbol: "X", side: "long", entry: 24350.05, atr: 45, rewardRatio: 2 },
    reference: (i) => {
      const r = stopLossReference({ side: i.side, entry: i.entry, atr: i.atr, rewardRatio: i.rewardRatio });
      return { stop: r.stop, target: r.target as Dec, distance: r.distance };
    },
    invalid: { input: { symbol: "X", side: "long", entry: 100.02, atr: 2 }, field: "entry" },
    rawInvalid: { arg: "multiplier", value: "nan", field: "multiplier" },
  },
  positionSize: {
    input: { symbol: "X", capital: 2_000_000, risk: 0.01, entry: 24350.05, stop: 24282.55, lotSize: 75 },
    reference: (i) => {
      const r = positionSizeReference({ capital: i.capital, risk: i.risk, entry: i.entry, stop: i.stop, lotSize: i.lotSize });
      return { lots: new Dec(r.lots), quantity: new Dec(r.quantity), moneyAtRisk: r.moneyAtRisk, notional: r.notional };
    },
    invalid: { input: { symbol: "X", capital: 0, risk: 0.01, entry: 100, stop: 99, lotSize: 1 }, field: "capital" },
    rawInvalid: { arg: "lot_size", value: "7.5", field: "lot_size" },
  },
  newsBoost: {
    input: { symbol: "X", side: "long", now: NOW, items: news },
    reference: (i) => {
      const r = newsBoostReference({ side: i.side, now: i.now!, items: i.items });
      return { boost: r.boost, sentiment: r.sentiment, weight: r.weight };
    },
    invalid: { input: { symbol: "X", side: "up", now: NOW, items: news }, field: "side" },
    rawInvalid: { arg: "now", value: " 5 ", field: "now" },
  },
  confidence: {
    input: { symbol: "X", base: 0.62, volumeRatio: 1.8, boost: 0.05 },
    reference: (i) => {
      const r = confidenceReference({ base: i.base, volumeRatio: i.volumeRatio, boost: i.boost });
      return { confidence: r.confidence, baseTerm: r.baseTerm, volumeTerm: r.volumeTerm, newsTerm: r.newsTerm };
    },
    invalid: { input: { symbol: "X", base: 1, boost: 0 }, field: "base" },
    rawInvalid: { arg: "base_confidence", value: "1", field: "base_confidence" },
  },
};

describe("the contract of every registered function", () => {
  it("has a kit for every function of the registry", () => {
    expect(Object.keys(KITS).sort()).toEqual([...FUNCTION_NAMES].sort());
  });
  for (const name of FUNCTION_NAMES) functionContract(() => dispatcher, name, KITS[name] as never);
});

// The Functions library defines each script's helpers once, at load, where EVAL runs them per call
// (src/build/functionsLibrary.ts): the same contract holds through FCALL.
describe("the contract of every registered function, through the Functions library", () => {
  for (const name of FUNCTION_NAMES) functionContract(() => functionsDispatcher, name, KITS[name] as never, "functions");
});
