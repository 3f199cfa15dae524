/**
 * `npm run bench:peers`: the autodiff benchmark's three gradient calls (inner_grad, meta_grad, hvp; see
 * policy.ts and workloads.ts) on the same inputs in metagrad and its peers, in float64 and float32:
 *   metagrad       the benchmark's own calls, cpu backend: jit on 1 thread (the row ratios are to), jit on
 *                  2 threads (matmuls split), eager on 1 thread
 *   tfjs           @tensorflow/tfjs-core + tfjs-backend-wasm (SIMD, one thread in Node); float32 only
 *   jax-js         @jax-js/jax on its wasm device, jit and eager
 *   pytorch        torch on the CPU at 1 and 2 threads (when a Python with torch is found; see driver.ts)
 * The inputs are exported from metagrad (`workloadData()`) and every peer reads the same numbers. Each
 * peer's answer is checked against metagrad's float64 answer before it is timed (rel_err = relative L2
 * error over all leaves); a wrong answer is recorded as unsupported with the reason, not timed.
 *
 * Each (peer, dtype) runs in its own process, one at a time, in rounds (2 by default) whose samples are
 * pooled, so drift on a shared machine lands on every peer alike. Only ratios within one run mean much:
 * absolute times on this machine drift by 1.5× between runs.
 *
 *   npx tsc -b bench && npm run bench:peers                 # full run, ~2 min on 2 cores
 *   node bench/dist/peers/index.js --rounds 3 --reps 20     # rounds, timed calls per round (defaults 2, 20)
 *   BENCH_QUICK=1 node bench/dist/peers/index.js            # 1 round of 5 calls, a check that all runs
 *
 * Prints a table of medians and ratios (peer time / metagrad time, same dtype and work) and writes
 * bench/results/peers.json (one row per peer, threads, work and dtype). Exit code 1 when a metagrad call
 * fails (a peer's failure is a row, not an error).
 */
import { ALPHA, BATCH } from '../policy.js';
import { type BenchResult, machine, median, sig, writeResults } from '../results.js';
import { workloadData } from '../workloads.js';
import { type PeerSpec, type TimingOptions, findTorchPython, infoString, loadAverage, referenceAnswers, runPeerProcess, writeInputs } from './driver.js';
import { type PeerData, type PeerDType, type PeerOutput, type Work, WORKS, argValue } from './protocol.js';

const QUICK = process.env['BENCH_QUICK'] === '1';
const ROUNDS = Math.max(1, Number(argValue('rounds') ?? (QUICK ? 1 : 2)));
const TIMING: TimingOptions = {
  warmup: QUICK ? 1 : 3, reps: Number(argValue('reps') ?? (QUICK ? 5 : 20)), minReps: 3, budgetMs: 120_000, tol: 1e-4, timeoutS: 600,
};
const DTYPES: readonly PeerDType[] = ['float64', 'float32'];

const torch = findTorchPython();
/** The row every ratio is to: metagrad's fast path (jit) on one thread. */
const REFERENCE = 'metagrad jit';
const PEERS: PeerSpec[] = [
  { label: REFERENCE, peer: 'metagrad', variant: 'jit', threads: 1, dtypes: DTYPES },
  { label: 'metagrad jit 2T', peer: 'metagrad', variant: 'jit', threads: 2, dtypes: DTYPES },
  { label: 'metagrad eager', peer: 'metagrad', variant: 'eager', threads: 1, dtypes: DTYPES },
  { label: 'tfjs-wasm', peer: 'tfjs', variant: 'custom-grad', threads: 1, dtypes: ['float32'], noDtype: 'TF.js has no float64 dtype' },
  { label: 'tfjs-wasm (built-in exp/tanh)', peer: 'tfjs', variant: 'builtin', threads: 1, dtypes: ['float32'] },
  { label: 'jax-js-wasm jit', peer: 'jax-js', variant: 'jit', threads: 1, dtypes: DTYPES },
  { label: 'jax-js-wasm eager', peer: 'jax-js', variant: 'eager', threads: 1, dtypes: DTYPES },
  ...[1, 2].map((threads): PeerSpec => ({
    label: `pytorch-cpu ${threads}T`, peer: 'pytorch', variant: null, threads, dtypes: DTYPES, ...(torch.python ? {} : { unavailable: torch.reason }),
  })),
];

/** Everything measured for one (peer, dtype, work), pooled over rounds. */
interface Cell {
  spec: PeerSpec; dtype: PeerDType; work: Work; supported: boolean; reason: string | null; rel_err: number | null;
  samples: number[]; roundMedians: number[]; version: string; info: Record<string, string | number | boolean>;
}

async function main(): Promise<void> {
  const started = Date.now(), loadStart = loadAverage();
  const MACHINE = machine(), DATE = new Date().toISOString();
  const data: PeerData = { ...workloadData(BATCH), steps: 1, alpha: ALPHA };
  const ref = referenceAnswers(data, WORKS);
  const files = writeInputs(data, ref);
  console.log(
    `metagrad peer benchmark${QUICK ? ' (BENCH_QUICK=1)' : ''}: the autodiff suite's workload (policy 20 → 64 → 64 → 6, N = ${BATCH}, α = ${ALPHA}); ` +
      `${MACHINE}; node ${process.version}; ${ROUNDS} round(s) of ${TIMING.reps} timed calls after ${TIMING.warmup} warm-up calls; ` +
      `python with torch: ${torch.python ?? `none (${torch.reason})`}; 1-min load average at start: ${loadStart}\n`,
  );

  const cells = new Map<string, Cell>();
  const key = (s: PeerSpec, d: PeerDType, w: Work): string => `${s.label}|${d}|${w}`;
  for (const spec of PEERS)
    for (const dtype of DTYPES)
      for (const work of WORKS) {
        const reason = spec.unavailable ?? (spec.dtypes.includes(dtype) ? null : spec.noDtype ?? null);
        if (!spec.dtypes.includes(dtype) && reason === null) continue; // e.g. the built-in tfjs variant: a float32 diagnostic only
        cells.set(key(spec, dtype, work), { spec, dtype, work, supported: reason === null, reason, rel_err: null, samples: [], roundMedians: [], version: '', info: {} });
      }

  for (let round = 1; round <= ROUNDS; round++) {
    console.log(`--- round ${round} of ${ROUNDS} ---`);
    for (const spec of PEERS)
      for (const dtype of spec.dtypes) {
        // Works that failed their check in an earlier round are not run again.
        const works = WORKS.filter((w) => cells.get(key(spec, dtype, w))?.supported);
        if (works.length === 0) continue;
        const t0 = Date.now();
        const out: PeerOutput = runPeerProcess(spec, dtype, works, files, TIMING, torch.python);
        for (const r of out.results) {
          const c = cells.get(key(spec, dtype, r.work))!;
          Object.assign(c, { supported: r.supported, reason: r.reason, rel_err: r.rel_err, version: out.version, info: out.info });
          c.samples.push(...r.samples_ms);
          if (r.samples_ms.length) c.roundMedians.push(median(r.samples_ms));
        }
        const summary = out.results.map((r) => `${r.work} ${r.supported ? `${median(r.samples_ms).toFixed(1)} ms` : 'unsupported'}`).join(', ');
        console.log(`  ${spec.label.padEnd(30)} ${dtype}  ${summary}  (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      }
  }
  files.cleanup();
  // A peer's version also on the rows of a dtype it never ran (TF.js float64).
  for (const c of cells.values()) c.version ||= [...cells.values()].find((o) => o.spec === c.spec && o.version)?.version ?? '';

  const load = `${loadStart} at start, ${loadAverage()} at end`;
  const mg = (dtype: PeerDType, work: Work): number => median(cells.get(`${REFERENCE}|${dtype}|${work}`)?.samples ?? []);
  const rows: BenchResult[] = [...cells.values()].map((c) => {
    const med = median(c.samples);
    const ratio = c.supported && c.samples.length ? med / mg(c.dtype, c.work) : NaN;
    return {
      suite: 'peers', work: c.work, dtype: c.dtype, backend: 'cpu', mode: c.spec.variant,
      median_ms: c.samples.length ? sig(med, 4) : null, gflops: null, steps_per_s: null,
      rel_err: c.rel_err === null ? null : sig(c.rel_err, 3), machine: MACHINE, date: DATE,
      peer: c.spec.label, variant: c.spec.variant, threads: c.spec.threads, version: c.version || null,
      supported: c.supported, reason: c.reason, note: typeof c.info['note'] === 'string' ? c.info['note'] : null,
      ratio_vs_metagrad: Number.isFinite(ratio) ? sig(ratio, 3) : null,
      min_ms: c.samples.length ? sig(Math.min(...c.samples), 4) : null, samples: c.samples.length,
      round_medians_ms: c.roundMedians.map((x) => sig(x, 4)).join(' '), peer_info: infoString(c.info), load_average_1m: load,
    };
  });
  const file = writeResults('peers', rows);
  printTable(rows);
  console.log(`\nWritten to ${file}; the run took ${((Date.now() - started) / 1000).toFixed(0)} s; 1-min load average ${load} (this run alone keeps it near 1, near 2 while PyTorch runs on 2 threads).`);
  if (rows.some((r) => r['peer'] === 'metagrad' && !r['supported'])) process.exitCode = 1;
}

/** One line per (peer, dtype): each work's median and its ratio to metagrad's; then the reasons and notes. */
function printTable(rows: readonly BenchResult[]): void {
  const head = ['peer', 'threads', 'dtype', ...WORKS.flatMap((w) => [`${w} ms`, '× metagrad']), 'max rel_err', 'version'];
  const lines: string[][] = [];
  const reasonIds = new Map<string, string>();
  const idOf = (why: string): string => {
    if (!reasonIds.has(why)) reasonIds.set(why, `(${reasonIds.size + 1})`);
    return reasonIds.get(why)!;
  };
  for (const dtype of DTYPES)
    for (const spec of PEERS) {
      const mine = rows.filter((r) => r['peer'] === spec.label && r.dtype === dtype);
      if (mine.length === 0) continue;
      const errs = mine.map((r) => r.rel_err).filter((e): e is number => e !== null);
      lines.push([
        spec.label, String(spec.threads), dtype,
        ...WORKS.flatMap((w) => {
          const r = mine.find((x) => x.work === w);
          if (!r || !r['supported']) return [`unsupported ${idOf(String(r?.['reason'] ?? 'not run'))}`, ''];
          return [String(r.median_ms), `${r['ratio_vs_metagrad']}×`];
        }),
        spec.label === REFERENCE && dtype === 'float64' ? 'reference' : errs.length ? Math.max(...errs).toExponential(1) : '',
        String(mine[0]!['version'] ?? ''),
      ]);
    }
  const width = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (l: readonly string[]): string => `| ${l.map((c, i) => c.padEnd(width[i]!)).join(' | ')} |`;
  console.log(`\nMedians (ms) and ratios (time / ${REFERENCE} time on 1 thread, same dtype and work; < 1 means faster):\n`);
  console.log([fmt(head), fmt(width.map((w) => '-'.repeat(w))), ...lines.map(fmt)].join('\n'));
  for (const [why, id] of reasonIds) console.log(`${id} ${why}`);
  const notes = new Set(rows.map((r) => (r['note'] ? `${r['peer']}: ${r['note']}` : null)).filter((n): n is string => n !== null));
  for (const n of notes) console.log(`note — ${n}`);
}

await main();
