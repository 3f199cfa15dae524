/**
 * `npm run bench:scaling`: how the meta-gradient's cost grows, in metagrad and its peers (see index.ts), along
 * three sweeps of the benchmark workload (scaled.ts: policy 20 → H → H → 6, N samples per batch, k inner steps):
 *   batch   N = 2000 … 80000 at H = 64, k = 1
 *   width   H = 32, 64, 128, 256 at N = 2000, k = 1
 *   steps   k = 1, 2, 3 at N = 2000, H = 64  (θ_{i+1} = θ_i + α∇J^LVC(θ_i) on the pre batch, J^LR(θ_k) on the post batch)
 * timing meta_grad = ∇θ₀ J^LR(θ_k) in metagrad (jit: float64, float32; eager: float64; 1 thread), PyTorch on 1 thread (float64, float32),
 * TF.js-wasm (float32, second-order-safe exp/tanh) and jax-js-wasm jit (float64; its float32 is checked, and is
 * wrong). Every answer is checked against metagrad's float64 answer before it is timed, as in index.ts.
 * Large N get fewer timed calls (a budget of ~3 s per peer and size, at least 3 calls).
 *
 * First it checks that scaled.ts at (N = 2000, H = 64, k = 1) reproduces the benchmark's inputs and
 * meta-gradient exactly (exit code 1 otherwise).
 *
 *   npx tsc -b bench && npm run bench:scaling      # ~6 min on 2 cores
 *   BENCH_QUICK=1 node bench/dist/peers/scaling.js # small sizes only, 1 timed call: a check that all runs
 *   node bench/dist/peers/scaling.js --plot-only   # redraw the plots and tables from bench/results/scaling.json
 *
 * Writes bench/results/scaling.json (one row per peer, dtype and size) and docs/scaling.svg + docs/scaling.png.
 */
import { Resvg } from '@resvg/resvg-js';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as vega from 'vega';
import { type TopLevelSpec, compile } from 'vega-lite';
import { ALPHA } from '../policy.js';
import { type BenchResult, RESULTS_DIR, machine, median, sig, writeResults } from '../results.js';
import { treeRelErr, workloadData, workloadFromData } from '../workloads.js';
import { type PeerSpec, type TimingOptions, findTorchPython, infoString, loadAverage, referenceAnswers, runPeerProcess, writeInputs } from './driver.js';
import type { PeerDType } from './protocol.js';
import { metaGradSteps, scaledData } from './scaled.js';

const QUICK = process.env['BENCH_QUICK'] === '1';
const DOCS = fileURLToPath(new URL('../../../docs/', import.meta.url));

interface Size { n: number; width: number; steps: number }
const SWEEPS: Record<'batch' | 'width' | 'steps', Size[]> = {
  batch: (QUICK ? [2000, 5000] : [2000, 5000, 10000, 20000, 40000, 80000]).map((n) => ({ n, width: 64, steps: 1 })),
  width: (QUICK ? [32, 64] : [32, 64, 128, 256]).map((width) => ({ n: 2000, width, steps: 1 })),
  steps: (QUICK ? [1, 2] : [1, 2, 3]).map((steps) => ({ n: 2000, width: 64, steps })),
};
/** Each distinct size once (the base size is in all three sweeps). */
const SIZES: Size[] = [...new Map(Object.values(SWEEPS).flat().map((s) => [`${s.n}/${s.width}/${s.steps}`, s])).values()];

const torch = findTorchPython();
const PEERS: PeerSpec[] = [
  { label: 'metagrad', peer: 'metagrad', variant: 'jit', threads: 1, dtypes: ['float64', 'float32'] },
  { label: 'metagrad eager', peer: 'metagrad', variant: 'eager', threads: 1, dtypes: ['float64'] },
  { label: 'pytorch-cpu 1T', peer: 'pytorch', variant: null, threads: 1, dtypes: ['float64', 'float32'], ...(torch.python ? {} : { unavailable: torch.reason }) },
  { label: 'tfjs-wasm', peer: 'tfjs', variant: 'custom-grad', threads: 1, dtypes: ['float32'], noDtype: 'TF.js has no float64 dtype' },
  { label: 'jax-js-wasm jit', peer: 'jax-js', variant: 'jit', threads: 1, dtypes: ['float64', 'float32'] },
];

/** Fewer warm-up calls at large N: the check call already ran the work once. */
const timing = (s: Size): TimingOptions => ({
  warmup: QUICK || s.n >= 20000 ? 1 : 2, reps: QUICK ? 1 : 15, minReps: QUICK ? 1 : 3, budgetMs: 3000, tol: 1e-4, timeoutS: 600,
});

/** scaled.ts at the benchmark's size must give the benchmark's inputs and meta-gradient, bit for bit. */
function checkBaseCase(): boolean {
  const { steps, alpha, ...base } = scaledData(2000, 64, 1);
  const sameData = JSON.stringify(base) === JSON.stringify(workloadData(2000)) && steps === 1 && alpha === ALPHA;
  const w = workloadFromData(base, 'float64');
  const err = treeRelErr(metaGradSteps(w.params, w.pre, w.post, 1), w.metaGrad());
  console.log(`base case (N = 2000, H = 64, k = 1): inputs identical to workloadData(): ${sameData}; meta_grad rel. difference to Workload.metaGrad(): ${err}`);
  return sameData && err === 0;
}

async function main(): Promise<void> {
  if (process.argv.includes('--plot-only')) {
    const rows = JSON.parse(readFileSync(new URL('scaling.json', RESULTS_DIR), 'utf8')) as BenchResult[];
    printTables(rows);
    console.log(`\nWritten: ${(await writeChart(rows)).join(', ')}`);
    return;
  }
  const started = Date.now(), loadStart = loadAverage();
  const MACHINE = machine(), DATE = new Date().toISOString();
  console.log(`metagrad scaling benchmark${QUICK ? ' (BENCH_QUICK=1)' : ''}: meta_grad vs batch size, width and inner steps; ${MACHINE}; node ${process.version}; ` +
    `python with torch: ${torch.python ?? `none (${torch.reason})`}; 1-min load average at start: ${loadStart}`);
  if (!checkBaseCase()) {
    console.log('scaled.ts does not reproduce the benchmark workload: stopping.');
    process.exitCode = 1;
    return;
  }
  const rows: BenchResult[] = [];
  for (const size of SIZES) {
    const t0 = Date.now();
    const data = scaledData(size.n, size.width, size.steps);
    const files = writeInputs(data, referenceAnswers(data, ['meta_grad']));
    console.log(`\nN = ${size.n}, width ${size.width}, ${size.steps} inner step(s) (inputs and reference: ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    const sizeRows: BenchResult[] = [];
    for (const spec of PEERS)
      for (const dtype of ['float64', 'float32'] as PeerDType[]) {
        const base = { suite: 'scaling', work: 'meta_grad', dtype, backend: 'cpu' as const, mode: spec.variant, gflops: null, steps_per_s: null, machine: MACHINE, date: DATE, peer: spec.label, threads: spec.threads, n: size.n, width: size.width, inner_steps: size.steps };
        if (spec.unavailable || !spec.dtypes.includes(dtype)) {
          const reason = spec.unavailable ?? spec.noDtype;
          if (reason) sizeRows.push({ ...base, median_ms: null, rel_err: null, supported: false, reason, samples: 0, version: null, ratio_vs_metagrad: null });
          continue;
        }
        const t1 = Date.now(), load = loadAverage();
        const out = runPeerProcess(spec, dtype, ['meta_grad'], files, timing(size), torch.python);
        const r = out.results[0]!;
        const med = median(r.samples_ms);
        sizeRows.push({
          ...base, median_ms: r.samples_ms.length ? sig(med, 4) : null, rel_err: r.rel_err === null ? null : sig(r.rel_err, 3),
          supported: r.supported, reason: r.reason, samples: r.samples_ms.length, min_ms: r.samples_ms.length ? sig(Math.min(...r.samples_ms), 4) : null,
          version: out.version || null, ratio_vs_metagrad: null, note: typeof out.info['note'] === 'string' ? out.info['note'] : null, peer_info: infoString(out.info), load_average_1m: load,
        });
        console.log(`  ${spec.label.padEnd(16)} ${dtype}  ${r.supported ? `${med.toFixed(1).padStart(9)} ms (${r.samples_ms.length} calls, rel_err ${r.rel_err?.toExponential(1)})` : `unsupported: ${r.reason}`}  [${((Date.now() - t1) / 1000).toFixed(1)} s]`);
      }
    for (const r of sizeRows) {
      const mg = sizeRows.find((m) => m['peer'] === 'metagrad' && m.dtype === r.dtype)?.median_ms;
      if (r.median_ms !== null && mg) r['ratio_vs_metagrad'] = sig(r.median_ms / mg, 3);
    }
    rows.push(...sizeRows);
    files.cleanup();
  }
  const file = writeResults('scaling', rows);
  printTables(rows);
  const charts = await writeChart(rows);
  console.log(`\nWritten to ${file}, ${charts.join(', ')}; the run took ${((Date.now() - started) / 60000).toFixed(1)} min; ` +
    `1-min load average ${loadStart} at start, ${loadAverage()} at end (this run alone keeps it near 1).`);
}

/** One table per sweep: a column per peer/dtype, median ms (ratio to metagrad in the same dtype). */
function printTables(rows: readonly BenchResult[]): void {
  const series = [...new Set(rows.filter((r) => r['supported']).map((r) => `${r['peer']} ${r.dtype}`))];
  for (const [sweep, sizes] of Object.entries(SWEEPS)) {
    const param = sweep === 'batch' ? 'n' : sweep === 'width' ? 'width' : 'inner_steps';
    const head = [param, ...series];
    const lines = sizes.map((s) => [
      String(sweep === 'batch' ? s.n : sweep === 'width' ? s.width : s.steps),
      ...series.map((name) => {
        const r = rows.find((x) => `${x['peer']} ${x.dtype}` === name && x['n'] === s.n && x['width'] === s.width && x['inner_steps'] === s.steps);
        if (!r) return '';
        if (!r['supported']) return 'wrong/unsupported';
        return `${r.median_ms} (${r['ratio_vs_metagrad']}×)`;
      }),
    ]);
    const width = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
    const fmt = (l: readonly string[]): string => `| ${l.map((c, i) => c.padEnd(width[i]!)).join(' | ')} |`;
    console.log(`\n${sweep} sweep: meta_grad median ms (× metagrad, same dtype)\n${[fmt(head), fmt(width.map((w) => '-'.repeat(w))), ...lines.map(fmt)].join('\n')}`);
  }
  const unsupported = new Set(rows.filter((r) => !r['supported']).map((r) => `${r['peer']} ${r.dtype}: ${String(r['reason']).replace(/rel_err [\d.e+-]+/, 'rel_err …')}`));
  for (const u of unsupported) console.log(`not timed — ${u}`);
}

/** docs/scaling.svg and .png: three panels (batch, width, inner steps), a line per peer and dtype. */
async function writeChart(rows: readonly BenchResult[]): Promise<string[]> {
  // metagrad's reference row is its jit (the trainer's default); say so in the legend
  const label = (peer: unknown): string => (peer === 'metagrad' ? 'metagrad jit' : String(peer));
  const values = rows.filter((r) => r['supported'] && r.median_ms !== null).map((r) => ({ ...r, peer: label(r['peer']), series: `${label(r['peer'])} ${r.dtype}` }));
  const panel = (title: string, filter: string, x: string, xTitle: string, logY: boolean, xScale: object, ticks: number[]) => ({
    title, width: 260, height: 240, transform: [{ filter }],
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: x, type: 'quantitative', title: xTitle, scale: xScale, axis: { values: ticks, format: '~s' } },
      y: { field: 'median_ms', type: 'quantitative', title: `median ms${logY ? ' (log scale)' : ''}`, scale: logY ? { type: 'log' } : { zero: true } },
      color: { field: 'peer', type: 'nominal', title: 'peer' },
      strokeDash: { field: 'dtype', type: 'nominal', title: 'dtype', sort: ['float64', 'float32'], legend: { symbolStrokeColor: '#555', symbolFillColor: '#555' } },
      tooltip: [{ field: 'series' }, { field: 'median_ms' }],
    },
  });
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'meta_grad cost: ∇θ₀ J^LR(θ_k), second order through k inner steps', anchor: 'start', offset: 14,
      subtitle: `${rows[0]?.machine ?? ''}; ${String(rows[0]?.date ?? '').slice(0, 10)}; one thread each; medians; float64 solid, float32 dashed`,
    },
    data: { values },
    hconcat: [
      panel('Batch size N (width 64, 1 step)', 'datum.width == 64 && datum.inner_steps == 1', 'n', 'N (log scale)', true, { type: 'log' }, SWEEPS.batch.map((s) => s.n)),
      panel('Hidden width H (N = 2000, 1 step)', 'datum.n == 2000 && datum.inner_steps == 1', 'width', 'H (log₂ scale)', true, { type: 'log', base: 2 }, SWEEPS.width.map((s) => s.width)),
      panel('Inner steps k (N = 2000, width 64)', 'datum.n == 2000 && datum.width == 64', 'inner_steps', 'k', true, { padding: 12 }, SWEEPS.steps.map((s) => s.steps)),
    ],
    resolve: { scale: { color: 'shared', strokeDash: 'shared' } },
    config: { font: 'DejaVu Sans', legend: { symbolType: 'stroke', symbolStrokeWidth: 2.5, symbolSize: 300, symbolBaseStrokeColor: '#555' } },
  };
  const view = new vega.View(vega.parse(compile(spec as unknown as TopLevelSpec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  mkdirSync(DOCS, { recursive: true });
  const base = `${DOCS}scaling`;
  writeFileSync(`${base}.svg`, svg);
  writeFileSync(`${base}.png`, new Resvg(svg, { fitTo: { mode: 'zoom', value: 2 }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' }, background: 'white' }).render().asPng());
  return [`${base}.svg`, `${base}.png`];
}

await main();
