/**
 * metagrad: the command line of the metagrad libraries, and the pieces of it that are useful from code:
 * `runCli` (the CLI in-process, with injectable output streams), the run directory's readers and
 * writers (trainInDir, readRun, readRunConfig, readCheckpoint, ...), and the reports (learning curves,
 * final returns, returns at budgets, markdown reports, charts as SVG and PNG).
 *
 * @module
 */
export { runCli } from './program.js';
export type { CliIO, OutStream } from './io.js';
export {
  RUN_FILES, trainInDir, readRun, readRunConfig, readRunMeta, readCheckpoint, readRecords, findRunDirs, hasRun, isFreshDir,
  runMeta, packageVersions, csvHeader, csvRow, writeFileAtomic, withoutMeta, configDiff, RunReadError,
  lockRunDir, lockHolder, LOCK_HEARTBEAT_MS, LOCK_STALE_MS, RunLockedError, RunLogError, isUnstartedRun,
} from './rundir.js';
export type { RunMeta, RunLog, LoggedIteration, TrainInDirOptions, RunLockHolder, RunLock } from './rundir.js';
export {
  learningCurves, learningCurveSpec, writeLearningCurves, finalReturns, returnsAtBudgets, cumulativeSteps, smooth, algoColorScale, ALGO_COLORS,
} from './report/curves.js';
export type { Band, CurvePoint, FinalReturns, BudgetReturns } from './report/curves.js';
export { explorationSpec, panelFromEvaluation } from './report/exploration.js';
export { writeExploration } from './report/plot.js';
export type { ExplorePanel, ExplorationOptions } from './report/exploration.js';
export { reportMarkdown } from './report/markdown.js';
export { renderSvg, svgToPng, writeChart, measureTextWidth, vegaTextWidth } from './report/plot.js';
export type { TextItem } from './report/plot.js';
export type { ChartSpec } from './report/plot.js';
export { runGradientVariance } from './report/variance.js';
export type { VarianceConfig, PerSamplePoint } from './report/variance.js';
