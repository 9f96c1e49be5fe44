/**
 * The charts hold the series they claim: parse the SVG (a real XML parser, so it must be
 * well-formed), map every path coordinate back to a value through the panel's domain and compare
 * with the series the chart was drawn from.
 */
import { DOMParser, type Element } from "@xmldom/xmldom";
import { describe, expect, it } from "vitest";
import { renderRatioChart, renderSessionChart, sessionSeries, type SessionPoint } from "../../src/chart/index.js";
import type { MarketUpdate } from "../../src/indicators/streaming.js";

function parseSvg(svg: string): Element {
  const doc = new DOMParser({ onError: (level, message) => { throw new Error(`${level}: ${message}`); } }).parseFromString(svg, "image/svg+xml");
  return doc.documentElement as Element;
}

const elements = (root: Element, tag: string): Element[] => Array.from(root.getElementsByTagName(tag)) as Element[];
const numbers = (text: string | null): number[] => (text ?? "").trim().split(/\s+/).map(Number);

/** The (x, y) pairs of a path made of M and L commands. */
function coordinates(d: string): [number, number][] {
  return [...d.matchAll(/[ML](-?[\d.]+) (-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
}

/** The values a path's y coordinates stand for, through its panel's domain and plot box. */
function valuesOf(panel: Element, series: string): { ts: number; value: number }[] {
  const [t0, t1] = numbers(panel.getAttribute("data-x-domain"));
  const [lo, hi] = numbers(panel.getAttribute("data-y-domain"));
  const [x0, y0, x1, y1] = numbers(panel.getAttribute("data-plot"));
  const path = elements(panel, "path").find((p) => p.getAttribute("data-series") === series);
  if (!path) throw new Error(`no path ${series}`);
  const points = coordinates(path.getAttribute("d") ?? "");
  expect(points).toHaveLength(Number(path.getAttribute("data-count")));
  return points.map(([x, y]) => ({
    ts: t0! + ((x - x0!) / (x1! - x0!)) * (t1! - t0!),
    value: lo! + ((y - y0!) / (y1! - y0!)) * (hi! - lo!),
  }));
}

const OPEN = Date.UTC(2026, 10, 25, 3, 45); // 09:15 IST

/** A deterministic session of 5-minute bars (a random walk on the 0.05 grid). */
function bars(count: number): MarketUpdate[] {
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  let close = 52_000;
  return Array.from({ length: count }, (_, i) => {
    const open = close;
    close = Math.round((close + (random() - 0.5) * 60) * 20) / 20;
    return {
      ts: OPEN + i * 300_000,
      seq: 0,
      high: Math.round((Math.max(open, close) + random() * 20) * 20) / 20,
      low: Math.round((Math.min(open, close) - random() * 20) * 20) / 20,
      close,
      volume: 10_000 + Math.round(random() * 50_000),
    };
  });
}

describe("the session chart", () => {
  const series = sessionSeries("BANKNIFTY", bars(75), { atrPeriod: 14, bands: [1, 2] });
  const root = parseSvg(renderSessionChart(series));
  const panels = Object.fromEntries(elements(root, "g").flatMap((g) => (g.getAttribute("data-panel") ? [[g.getAttribute("data-panel"), g]] : [])));

  it("draws price, VWAP and both bands on each side in the price panel, ATR in its own", () => {
    const names = (panel: Element) => elements(panel, "path").map((p) => p.getAttribute("data-series")).sort();
    expect(names(panels.price!)).toEqual(["band+1", "band+2", "band-1", "band-2", "price", "vwap"]);
    expect(names(panels.atr!)).toEqual(["atr"]);
  });

  it("holds the series it was drawn from, point by point (to the pixel's rounding)", () => {
    const expected = (pick: (p: SessionPoint) => number | undefined) =>
      series.points.flatMap((p) => (pick(p) === undefined ? [] : [{ ts: p.ts, value: pick(p)! }]));
    const tolerance = (panel: Element) => {
      const [lo, hi] = numbers(panel.getAttribute("data-y-domain"));
      return ((hi! - lo!) / 300) * 0.01; // 0.01 px of a ~300 px panel
    };
    const checks: [Element, string, (p: SessionPoint) => number | undefined][] = [
      [panels.price!, "price", (p) => p.price],
      [panels.price!, "vwap", (p) => p.vwap],
      [panels.price!, "band+2", (p) => (p.vwap === undefined ? undefined : p.vwap + 2 * p.sigma!)],
      [panels.price!, "band-1", (p) => (p.vwap === undefined ? undefined : p.vwap - p.sigma!)],
      [panels.atr!, "atr", (p) => p.atr],
    ];
    for (const [panel, name, pick] of checks) {
      const drawn = valuesOf(panel, name);
      const want = expected(pick);
      expect(drawn.length, name).toBe(want.length);
      drawn.forEach((d, i) => {
        expect(Math.abs(d.value - want[i]!.value), `${name}[${i}]`).toBeLessThan(tolerance(panel) * 2);
        expect(Math.abs(d.ts - want[i]!.ts), `${name}[${i}] time`).toBeLessThan(300_000 / 100);
      });
    }
  });

  it("has one point per bar, and ATR from bar 15 on (TA-Lib's lookback of 14)", () => {
    expect(series.points).toHaveLength(75);
    expect(series.points.findIndex((p) => p.atr !== undefined)).toBe(14);
    expect(valuesOf(panels.atr!, "atr")).toHaveLength(61);
  });

  it("keeps only the last session: VWAP restarts at 09:15 IST", () => {
    const yesterday = bars(10).map((b) => ({ ...b, ts: b.ts - 86_400_000 }));
    const two = sessionSeries("BANKNIFTY", [...yesterday, ...bars(20)]);
    expect(two.points).toHaveLength(20);
    expect(two.points[0]!.ts).toBe(OPEN);
    expect(two.points[0]!.vwap).toBeCloseTo((two.points[0] as SessionPoint & { price: number }).price, -1);
  });

  it("draws ticks without ATR and says why", () => {
    const ticks = Array.from({ length: 50 }, (_, i) => ({ ts: OPEN + i * 1000, seq: i, price: 100 + (i % 7) * 0.05, volume: 10 }));
    const svg = parseSvg(renderSessionChart(sessionSeries("NIFTY", ticks)));
    const atr = elements(svg, "path").find((p) => p.getAttribute("data-series") === "atr")!;
    expect(atr.getAttribute("data-count")).toBe("0");
    expect(elements(svg, "text").some((t) => /ATR\(14\): needs 15 bars/.test(t.textContent ?? ""))).toBe(true);
  });

  it("is a valid document even with nothing to draw", () => {
    expect(elements(parseSvg(renderSessionChart(sessionSeries("NIFTY", [])), ), "text")[0]?.textContent).toMatch(/no session data/);
  });
});

describe("the benchmark ratio chart", () => {
  const rows = [
    { name: "atr SDK/baseline, one at a time", median: 0.53, min: 0.31, max: 0.57, floor: 0.15 },
    { name: "atr Redis-side cost, GET/script", median: 0.0031, min: 0.003, max: 0.0038, floor: 0.0008 },
    { name: "dispatch/naive", median: 0.8, min: 0.7, max: 1.9, floor: 0.9 },
    { name: "a ratio without a floor <&>", median: 2 },
  ];
  const root = parseSvg(renderRatioChart(rows));
  const groups = elements(root, "g").filter((g) => g.getAttribute("data-ratio"));
  const [lo, hi] = numbers(elements(root, "g").find((g) => g.getAttribute("data-axis"))!.getAttribute("data-log-domain"));
  const [x0, x1] = numbers(elements(root, "g").find((g) => g.getAttribute("data-axis"))!.getAttribute("data-plot"));
  const valueAt = (x: number) => 10 ** (lo! + ((x - x0!) / (x1! - x0!)) * (hi! - lo!));

  it("has one row per ratio, in order, with its verdict against the floor", () => {
    expect(groups.map((g) => g.getAttribute("data-ratio"))).toEqual(rows.map((r) => r.name));
    expect(groups.map((g) => g.getAttribute("data-pass"))).toEqual(["true", "true", "false", "none"]);
  });

  it("draws each median, whisker and floor where the log axis puts the value", () => {
    groups.forEach((g, i) => {
      const row = rows[i]!;
      const bar = elements(g, "rect")[0]!;
      expect(valueAt(x0! + Number(bar.getAttribute("width"))) / row.median).toBeCloseTo(1, 3);
      const floor = elements(g, "line").find((l) => l.getAttribute("data-floor-mark"));
      if (row.floor === undefined) expect(floor).toBeUndefined();
      else expect(valueAt(Number(floor!.getAttribute("x1"))) / row.floor).toBeCloseTo(1, 3);
      const whisker = elements(g, "line").find((l) => l.getAttribute("data-whisker"));
      if (row.min !== undefined) {
        expect(valueAt(Number(whisker!.getAttribute("x1"))) / row.min).toBeCloseTo(1, 3);
        expect(valueAt(Number(whisker!.getAttribute("x2"))) / row.max!).toBeCloseTo(1, 3);
      }
    });
  });
});
