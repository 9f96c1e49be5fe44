/**
 * A trading session as an SVG: price with the session VWAP and its sigma bands on top, ATR
 * below. The series come from the streaming reference (the decimal.js oracle of
 * `lua/stream_update.lua`), so the chart shows what the streaming state computes, update by update.
 */
import { StreamingReference, type MarketUpdate } from "../indicators/streaming.js";
import { sessionOf } from "../market/session.js";
import { attrs, escapeXml, linearScale, niceTicks, pathData, px, svgDocument } from "./svg.js";

/** One point of a session: the price after an update and the indicators then. */
export interface SessionPoint {
  /** Exchange time, epoch ms. */
  ts: number;
  /** The tick's price, or the bar's close. */
  price: number;
  /** Session VWAP and sigma; absent before the session's first volume. */
  vwap?: number;
  sigma?: number;
  /** ATR; absent until period + 1 bars were seen (ticks carry no ATR). */
  atr?: number;
}

/** What {@link renderSessionChart} draws. */
export interface SessionSeries {
  symbol: string;
  atrPeriod: number;
  /** Band multipliers k: VWAP -/+ k sigma. */
  bands: readonly number[];
  points: readonly SessionPoint[];
}

/**
 * Replays updates (in the order given, as the stream delivered them) through the streaming
 * reference and keeps the points of the last IST session: duplicates and pre-open updates
 * change nothing there, so they add no point. ATR carries over from earlier sessions, as in Redis.
 */
export function sessionSeries(
  symbol: string,
  updates: readonly MarketUpdate[],
  options: { atrPeriod?: number; bands?: readonly number[] } = {},
): SessionSeries {
  const atrPeriod = options.atrPeriod ?? 14;
  const reference = new StreamingReference(atrPeriod);
  const points: (SessionPoint & { session: number })[] = [];
  for (const update of updates) {
    const { vwapStatus } = reference.update(update);
    if (vwapStatus !== "applied") continue;
    const vwap = reference.vwap;
    points.push({
      ts: update.ts,
      session: sessionOf(update.ts).session,
      price: Number(update.price ?? update.close),
      ...(vwap ? { vwap: vwap.vwap.toNumber(), sigma: vwap.sigma.toNumber() } : {}),
      ...(reference.atr ? { atr: reference.atr.toNumber() } : {}),
    });
  }
  const last = points.at(-1)?.session;
  return {
    symbol,
    atrPeriod,
    bands: options.bands ?? [1, 2],
    points: points.filter((p) => p.session === last).map(({ session: _, ...p }) => p),
  };
}

/** Options of {@link renderSessionChart}. */
export interface SessionChartOptions {
  width?: number;
  height?: number;
  /** A second line under the title, e.g. where the data came from. */
  subtitle?: string;
}

const COLORS = { price: "#111827", vwap: "#2563eb", band: "#60a5fa", atr: "#d97706", grid: "#e5e7eb", text: "#374151" };

/** HH:MM in IST, the exchange's clock. */
function istClock(ts: number): string {
  return new Date(ts + 19_800_000).toISOString().slice(11, 16);
}

interface Panel {
  name: string;
  top: number;
  bottom: number;
  domain: [number, number];
}

/**
 * The session chart. Each series is a `<path data-series="...">` (price, vwap, band+k, band-k,
 * atr) with `data-count` points, inside a `<g data-panel>` whose `data-x-domain`,
 * `data-y-domain` and `data-plot` (x0 y0 x1 y1 in pixels) let a reader map coordinates back
 * to values.
 */
export function renderSessionChart(series: SessionSeries, options: SessionChartOptions = {}): string {
  const width = options.width ?? 960;
  const height = options.height ?? 560;
  const left = 70;
  const right = width - 20;
  const { points } = series;
  const title = `${series.symbol}: price, VWAP with ${series.bands.map((k) => `${k}`).join(" and ")} sigma bands, ATR(${series.atrPeriod})`;
  if (points.length === 0) {
    return svgDocument(width, 120, title, [`<text x="20" y="60" fill="${COLORS.text}">${escapeXml(`${series.symbol}: no session data to draw`)}</text>`]);
  }
  const t0 = points[0]!.ts;
  const t1 = points.at(-1)!.ts;
  const x = linearScale([t0, t1], [left, right]);
  const maxK = Math.max(0, ...series.bands);
  const priceValues = points.flatMap((p) =>
    p.vwap === undefined ? [p.price] : [p.price, p.vwap - maxK * (p.sigma ?? 0), p.vwap + maxK * (p.sigma ?? 0)],
  );
  const atrValues = points.flatMap((p) => (p.atr === undefined ? [] : [p.atr]));
  const pad = (lo: number, hi: number): [number, number] => {
    const margin = (hi - lo) * 0.05 || Math.abs(hi) * 0.001 || 1;
    return [lo - margin, hi + margin];
  };
  const pricePanel: Panel = { name: "price", top: 80, bottom: height - 170, domain: pad(Math.min(...priceValues), Math.max(...priceValues)) };
  const atrPanel: Panel = {
    name: "atr",
    top: height - 140,
    bottom: height - 40,
    domain: atrValues.length ? pad(Math.min(0, ...atrValues), Math.max(...atrValues)) : [0, 1],
  };

  const panel = (p: Panel, lines: { series: string; values: (number | undefined)[]; stroke: string; dash?: string; width?: number }[], label: string) => {
    const y = linearScale(p.domain, [p.bottom, p.top]);
    const grid = niceTicks(p.domain[0], p.domain[1], 4).map(
      (v) =>
        `<line x1="${left}" x2="${right}" y1="${px(y(v))}" y2="${px(y(v))}" stroke="${COLORS.grid}"/>` +
        `<text x="${left - 6}" y="${px(y(v) + 4)}" text-anchor="end" fill="${COLORS.text}">${escapeXml(v.toLocaleString("en-IN"))}</text>`,
    );
    const paths = lines.map((line) => {
      const coords = line.values.map((v, i) => (v === undefined ? undefined : ([x(points[i]!.ts), y(v)] as [number, number])));
      const count = coords.filter(Boolean).length;
      return `<path${attrs({ "data-series": line.series, "data-count": count, d: pathData(coords), fill: "none", stroke: line.stroke, "stroke-width": line.width ?? 1.5, "stroke-dasharray": line.dash })}/>`;
    });
    return [
      `<g${attrs({ "data-panel": p.name, "data-x-domain": `${t0} ${t1}`, "data-y-domain": `${p.domain[0]} ${p.domain[1]}`, "data-plot": `${left} ${p.bottom} ${right} ${p.top}` })}>`,
      `<text x="${left}" y="${p.top - 8}" fill="${COLORS.text}" font-weight="600">${label}</text>`,
      ...grid,
      ...paths,
      "</g>",
    ].join("\n");
  };

  const bandLines = series.bands.flatMap((k) =>
    [1, -1].map((sign) => ({
      series: `band${sign > 0 ? "+" : "-"}${k}`,
      values: points.map((p) => (p.vwap === undefined || p.sigma === undefined ? undefined : p.vwap + sign * k * p.sigma)),
      stroke: COLORS.band,
      dash: k === maxK ? "4 3" : "2 2",
      width: 1,
    })),
  );
  const lastPoint = points.at(-1)!;
  const summary = [
    `last ${lastPoint.price}`,
    lastPoint.vwap === undefined ? undefined : `VWAP ${lastPoint.vwap.toFixed(2)}`,
    lastPoint.sigma === undefined ? undefined : `sigma ${lastPoint.sigma.toFixed(2)}`,
    lastPoint.atr === undefined ? undefined : `ATR ${lastPoint.atr.toFixed(2)}`,
  ].filter(Boolean);
  const timeTicks = t1 > t0 ? axisTimes(t0, t1) : [t0];
  const body = [
    `<text x="${left}" y="22" font-size="15" font-weight="600" fill="${COLORS.price}">${escapeXml(title)}</text>`,
    `<text x="${left}" y="40" fill="${COLORS.text}">${escapeXml([istClock(t0) + "-" + istClock(t1) + " IST", `${points.length} updates`, ...summary, options.subtitle].filter(Boolean).join("   "))}</text>`,
    panel(
      pricePanel,
      [
        ...bandLines,
        { series: "vwap", values: points.map((p) => p.vwap), stroke: COLORS.vwap, width: 2 },
        { series: "price", values: points.map((p) => p.price), stroke: COLORS.price, width: 1.25 },
      ],
      // a legend in the series' own colours
      [
        [COLORS.price, "price"],
        [COLORS.vwap, "VWAP"],
        [COLORS.band, `bands ${series.bands.map((k) => `±${k}`).join(", ")} sigma`],
      ]
        .map(([color, text]) => `<tspan fill="${color}">${escapeXml(text as string)}</tspan>`)
        .join("   "),
    ),
    panel(atrPanel, [{ series: "atr", values: points.map((p) => p.atr), stroke: COLORS.atr, width: 1.5 }], `<tspan fill="${COLORS.atr}">${escapeXml(atrValues.length ? `ATR(${series.atrPeriod})` : `ATR(${series.atrPeriod}): needs ${series.atrPeriod + 1} bars`)}</tspan>`),
    ...timeTicks.map((t) => `<text x="${px(x(t))}" y="${height - 22}" text-anchor="middle" fill="${COLORS.text}">${istClock(t)}</text>`),
  ];
  return svgDocument(width, height, title, body);
}

/** Round times of day for the x axis: every 15, 30 or 60 minutes, whichever gives at most 8. */
function axisTimes(t0: number, t1: number): number[] {
  const step = [5, 15, 30, 60, 120].map((m) => m * 60_000).find((s) => (t1 - t0) / s <= 8) ?? 240 * 60_000;
  const ist = 19_800_000; // round on the IST clock
  const times: number[] = [];
  for (let t = Math.ceil((t0 + ist) / step) * step - ist; t <= t1; t += step) times.push(t);
  return times;
}
