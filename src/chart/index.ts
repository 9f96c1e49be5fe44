/** SVG charts: pure functions from data to SVG text, with no Redis and no dependency. */
export { sessionSeries, renderSessionChart, type SessionPoint, type SessionSeries, type SessionChartOptions } from "./sessionChart.js";
export { renderRatioChart, type RatioRow, type RatioChartOptions } from "./ratioChart.js";
