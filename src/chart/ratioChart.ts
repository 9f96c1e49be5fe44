/**
 * Benchmark ratios against their floors as an SVG: one row per ratio, the median as a bar, the
 * min..max of the repetitions as a whisker, the floor as a red tick. Ratios span four decades
 * (a GET/script cost near 0.001, dispatch/naive near 2), so the axis is logarithmic.
 */
import { attrs, escapeXml, linearScale, px, svgDocument } from "./svg.js";

/** One ratio of a benchmark run; higher is better. */
export interface RatioRow {
  name: string;
  median: number;
  min?: number;
  max?: number;
  /** The floor the check holds the median to; absent when the ratio has none. */
  floor?: number;
}

/** Options of {@link renderRatioChart}. */
export interface RatioChartOptions {
  width?: number;
  title?: string;
  /** Lines under the title. */
  subtitle?: readonly string[];
}

/**
 * The chart. Each row is a `<g data-ratio="name">` with `data-median`, `data-floor` and
 * `data-pass` ("true" when the median is at or above the floor, "none" without a floor), and the
 * axis group carries `data-log-domain` and `data-plot` so a reader can map pixels back to values.
 */
export function renderRatioChart(rows: readonly RatioRow[], options: RatioChartOptions = {}): string {
  const width = options.width ?? 960;
  const rowHeight = 22;
  const subtitle = options.subtitle ?? ["bar: median; whisker: min..max of the repetitions; red tick: floor"];
  const top = 52 + subtitle.length * 16;
  const left = 300;
  const right = width - 60;
  const height = top + rows.length * rowHeight + 40;
  const title = options.title ?? "Benchmark ratios against their floors (higher is better)";
  const values = rows.flatMap((r) => [r.median, r.min, r.max, r.floor]).filter((v): v is number => v !== undefined && v > 0);
  // a value on a decade (a floor of 0.0001) gets one decade of room below it
  const lo = Math.floor(Math.log10(Math.min(...values, 1) * 0.999));
  const hi = Math.ceil(Math.log10(Math.max(...values, 1)));
  const x = linearScale([lo, hi], [left, right]);
  const at = (v: number) => x(Math.log10(Math.max(v, 10 ** lo)));
  const decades = Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
  const body = [
    `<text x="20" y="24" font-size="15" font-weight="600">${escapeXml(title)}</text>`,
    ...subtitle.map((line, i) => `<text x="20" y="${44 + i * 16}" fill="#374151">${escapeXml(line)}</text>`),
    `<g${attrs({ "data-axis": "log10", "data-log-domain": `${lo} ${hi}`, "data-plot": `${left} ${right}` })}>`,
    ...decades.map(
      (d) =>
        `<line x1="${px(x(d))}" x2="${px(x(d))}" y1="${top - 6}" y2="${height - 34}" stroke="#e5e7eb"/>` +
        `<text x="${px(x(d))}" y="${height - 20}" text-anchor="middle" fill="#374151">${escapeXml(String(10 ** d < 1 ? Number((10 ** d).toPrecision(1)) : 10 ** d))}</text>`,
    ),
    "</g>",
    ...rows.map((r, i) => {
      const y = top + i * rowHeight;
      const pass = r.floor === undefined ? "none" : String(r.median >= r.floor);
      const fill = pass === "false" ? "#dc2626" : "#2563eb";
      const parts = [
        `<g${attrs({ "data-ratio": r.name, "data-median": r.median, "data-floor": r.floor, "data-pass": pass })}>`,
        `<text x="${left - 8}" y="${y + 14}" text-anchor="end">${escapeXml(r.name)}</text>`,
        `<rect${attrs({ x: left, y: y + 5, width: px(Math.max(0, at(r.median) - left)), height: 12, fill, "fill-opacity": 0.75 })}/>`,
      ];
      if (r.min !== undefined && r.max !== undefined) {
        parts.push(`<line${attrs({ "data-whisker": `${r.min} ${r.max}`, x1: px(at(r.min)), x2: px(at(r.max)), y1: y + 11, y2: y + 11, stroke: "#111827" })}/>`);
      }
      if (r.floor !== undefined) {
        parts.push(`<line${attrs({ "data-floor-mark": r.floor, x1: px(at(r.floor)), x2: px(at(r.floor)), y1: y + 2, y2: y + 20, stroke: "#dc2626", "stroke-width": 2.5 })}/>`);
      }
      parts.push(`<text x="${right + 6}" y="${y + 14}" fill="#374151">${escapeXml(r.median.toPrecision(2))}</text>`, "</g>");
      return parts.join("");
    }),
  ];
  return svgDocument(width, height, title, body);
}
