/** The bench report: everything here reads a BenchResults object and nothing else. */
export { renderReportHtml } from "./html.ts";
export { formatSweep, sweepHtml } from "./sweep.ts";
export { reportCharts, type ChartSpec } from "./charts.ts";
export { compareFusionToUnimodal, describeComparison, formatLeaderboard, formatSummary, type FusionComparison } from "./leaderboard.ts";
