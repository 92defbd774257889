// Public face of src/report: results folders in, charts, HTML, notebooks, comparisons and the
// regression check out. Reads only results files (DESIGN.md: it never needs a cluster).
export { ResultsFormatError, loadResults, parseHgrm, parseHlog, resolveResultsDir } from './load.js';
export type { IntervalPoint, LoadedResults, LoadedRun, PercentilePoint } from './load.js';
export { buildModel } from './model.js';
export type { ChartModel, ChartRun, SweepAxis } from './model.js';
export { buildCharts } from './charts/index.js';
export type { Chart, ChartSet, SkippedChart, VlSpec } from './charts/index.js';
export { compileSpec, renderSvg, svgToPng } from './render.js';
export { buildPage } from './html.js';
export { buildNotebook, vegaLiteMime } from './notebook.js';
export type { Notebook, NotebookCell } from './notebook.js';
export { writeReport } from './report.js';
export type { ReportOptions, ReportResult } from './report.js';
export { writeCompare, deltasTable } from './compare.js';
export type { CompareOptions, CompareResult } from './compare.js';
export { checkRegression, formatCheck, parseTolerance } from './check.js';
export type { CheckFinding, CheckOptions, CheckResult } from './check.js';
export { MetricListError, metricDefs, parseMetricList } from './metrics.js';
export type { MetricDef } from './metrics.js';
export { matchRuns } from './match.js';
export { tableText, tableMarkdown, tableHtml } from './tables.js';
export type { Table } from './tables.js';
