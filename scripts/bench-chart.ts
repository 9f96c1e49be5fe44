/**
 * The benchmark's ratios against their floors as an SVG (bench/results/ratios.svg by default).
 *
 *   npx tsx scripts/bench-chart.ts [--results bench/results/latest.json] [--floors bench/floors.json] [--out FILE.svg]
 *
 * The bench owns both files and their format grows: the reader takes what it knows and ignores
 * the rest. A ratio is `{ name, value: { median, min?, max? } | number, floor? }` in `ratios`;
 * its floor comes from the result, else from floors.json (`ratios[name].floor`). Floors
 * without a measured ratio in this run are listed under the chart, not drawn; those of the other
 * suite only (`"suite"`, against the result's `mode`) are left out of that list.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type RatioRow, renderRatioChart } from "../src/chart/ratioChart.js";

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const finite = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/** The rows of a results file with floors filled in; entries of unknown shape are skipped. */
export function ratioRows(results: unknown, floors: unknown): { rows: RatioRow[]; unmeasured: string[] } {
  const floorOf = (name: string) => {
    const entry = isObject(floors) && isObject(floors.ratios) ? floors.ratios[name] : undefined;
    return isObject(entry) ? finite(entry.floor) : undefined;
  };
  const entries = isObject(results) && Array.isArray(results.ratios) ? results.ratios : [];
  const rows = entries.flatMap((r): RatioRow[] => {
    if (!isObject(r) || typeof r.name !== "string") return [];
    const value = isObject(r.value) ? r.value : { median: r.value };
    const median = finite(value.median);
    if (median === undefined) return [];
    const min = finite(value.min);
    const max = finite(value.max);
    const floor = finite(r.floor) ?? floorOf(r.name);
    return [{ name: r.name, median, ...(min !== undefined && max !== undefined ? { min, max } : {}), ...(floor !== undefined ? { floor } : {}) }];
  });
  const measured = new Set(rows.map((r) => r.name));
  // a floor of the other suite only ("suite": "short" | "full") is not missing from this run
  const mode = isObject(results) && typeof results.mode === "string" ? results.mode : "";
  const ownSuite = (entry: unknown) => !isObject(entry) || typeof entry.suite !== "string" || mode.startsWith(entry.suite);
  const unmeasured = isObject(floors) && isObject(floors.ratios) ? Object.entries(floors.ratios).filter(([n, f]) => !measured.has(n) && ownSuite(f)).map(([n]) => n) : [];
  return { rows, unmeasured };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      results: { type: "string", default: "bench/results/latest.json" },
      floors: { type: "string", default: "bench/floors.json" },
      out: { type: "string", default: "bench/results/ratios.svg" },
    },
  });
  const results = JSON.parse(readFileSync(values.results, "utf8")) as Json;
  const { rows, unmeasured } = ratioRows(results, JSON.parse(readFileSync(values.floors, "utf8")));
  const machine = isObject(results.machine) ? Object.values(results.machine).join(", ") : "";
  const subtitle = [
    `${String(results.mode ?? "")} run of ${String(results.date ?? "").slice(0, 10)}, median of ${String(results.reps ?? "?")} reps (${machine})`,
    "bar: median; whisker: min..max of the repetitions; red tick: the floor bench:ci holds the median to",
    unmeasured.length ? `floors without a ratio in this run: ${unmeasured.join("; ")}` : "",
  ].filter(Boolean);
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(values.out, renderRatioChart(rows, { subtitle }));
  const below = rows.filter((r) => r.floor !== undefined && r.median < r.floor);
  console.log(`wrote ${values.out}: ${rows.length} ratios, ${below.length} below their floor${below.length ? `: ${below.map((r) => r.name).join(", ")}` : ""}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
