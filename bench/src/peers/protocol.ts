/**
 * The protocol between the peer drivers (index.ts: `npm run bench:peers`, scaling.ts: `npm run bench:scaling`)
 * and the peer processes (metagrad.ts, tfjs.ts, jaxjs.ts and bench/peers/torch_workloads.py): one process
 * per (peer, variant, dtype, threads), run one at a time, so no peer shares a core or a JIT's type feedback
 * with another.
 *
 * A peer process is started as
 *
 *   <peer> --data data.json --ref ref.json --dtype float64|float32 --works inner_grad,meta_grad,hvp
 *          --out out.json [--variant V] [--threads N] [--warmup W] [--reps R] [--min-reps M] [--budget-ms B]
 *          [--tol T] [--check-only]
 *
 * data.json holds the inputs as float64 JSON (`PeerData`: the benchmark's `WorkloadData` plus the number of
 * inner steps and α); ref.json holds metagrad's float64 answer per work (`RefData`, leaves in `LEAVES` order).
 * For each work the peer computes its answer once, measures ‖answer − ref‖₂/‖ref‖₂ over all leaves
 * (`rel_err`), and times the work only when rel_err ≤ tol: a wrong answer is reported, never timed.
 * Timing: `warmup` untimed calls, then calls timed one by one until `reps` samples (or `budget-ms` has passed
 * and at least `min-reps` samples are in). Output (`PeerOutput`) goes to out.json.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { WorkloadData } from '../workloads.js';

/** The timed works. */
export type Work = 'inner_grad' | 'meta_grad' | 'hvp';
export const WORKS: readonly Work[] = ['inner_grad', 'meta_grad', 'hvp'];
export type PeerDType = 'float64' | 'float32';

/** The parameter leaves, in the order every peer flattens them. */
export const LEAVES = ['W1', 'b1', 'W2', 'b2', 'W3', 'b3', 'logStd'] as const;
export type Leaf = (typeof LEAVES)[number];

/** The inputs every peer reads: the benchmark's data, the number of inner steps k and the step size α. */
export type PeerData = WorkloadData & { steps: number; alpha: number };
/** metagrad's float64 answer per work: leaf → values (row-major). */
export type RefData = Partial<Record<Work, Record<Leaf, number[]>>>;

/** One work's outcome in one peer process. */
export interface WorkOutcome {
  work: Work;
  /** False when the peer could not compute the work or computed it wrong (rel_err > tol); then not timed. */
  supported: boolean;
  reason: string | null;
  rel_err: number | null;
  /** Per-call times, ms. */
  samples_ms: number[];
}

/** What a peer process writes to --out. */
export interface PeerOutput {
  peer: string;
  variant: string | null;
  dtype: PeerDType;
  threads: number;
  version: string;
  /** Anything else worth recording (backend, SIMD, BLAS...). */
  info: Record<string, string | number | boolean>;
  results: WorkOutcome[];
}

/** Options of a peer process, from its command line. */
export interface PeerArgs {
  data: string; ref: string; out: string; dtype: PeerDType; works: Work[]; variant: string | null; threads: number;
  warmup: number; reps: number; minReps: number; budgetMs: number; tol: number; checkOnly: boolean;
}

/** `--name value` from argv, or undefined. */
export function argValue(name: string, argv: readonly string[] = process.argv): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

export function parsePeerArgs(argv: readonly string[] = process.argv): PeerArgs {
  const need = (n: string): string => {
    const v = argValue(n, argv);
    if (v === undefined) throw new Error(`missing --${n}`);
    return v;
  };
  const num = (n: string, d: number): number => Number(argValue(n, argv) ?? d);
  return {
    data: need('data'), ref: need('ref'), out: need('out'), dtype: need('dtype') as PeerDType,
    works: need('works').split(',') as Work[], variant: argValue('variant', argv) ?? null, threads: num('threads', 1),
    warmup: num('warmup', 3), reps: num('reps', 30), minReps: num('min-reps', 3), budgetMs: num('budget-ms', 60_000),
    tol: num('tol', 1e-4), checkOnly: argv.includes('--check-only'),
  };
}

/** ‖a − ref‖₂/‖ref‖₂ over all leaves (float64 accumulation). */
export function relErr(answer: Record<Leaf, ArrayLike<number>>, ref: Record<Leaf, number[]>): number {
  let num = 0, den = 0;
  for (const k of LEAVES) {
    const a = answer[k], r = ref[k];
    if (a.length !== r.length) throw new Error(`leaf ${k}: ${a.length} values, expected ${r.length}`);
    for (let i = 0; i < r.length; i++) {
      num += (a[i]! - r[i]!) ** 2;
      den += r[i]! ** 2;
    }
  }
  return Math.sqrt(num / den);
}

/** Times `call` per the options: warm-up calls, then one sample per call. */
export function timeCalls(call: () => unknown, o: Pick<PeerArgs, 'warmup' | 'reps' | 'minReps' | 'budgetMs'>): number[] {
  for (let i = 0; i < o.warmup; i++) call();
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < o.reps && (samples.length < o.minReps || performance.now() - start < o.budgetMs)) {
    const t = performance.now();
    call();
    samples.push(performance.now() - t);
  }
  return samples;
}

/** A JS peer: how to build its calls for one dtype. `answer` returns the leaves as plain arrays (for the check);
 *  `timed` is the call that is timed (it must finish the computation, e.g. read lazily evaluated results). */
export interface PeerImpl {
  peer: string;
  version: string;
  info: Record<string, string | number | boolean>;
  /** A work missing here cannot run at all (`explain` says why). */
  calls: Partial<Record<Work, { answer(): Record<Leaf, ArrayLike<number>>; timed(): unknown }>>;
  /** Per work: why it is missing, or what is known to make its answer wrong (added to a failed check's reason). */
  explain?: Partial<Record<Work, string>>;
}

/** Runs a JS peer process: reads the inputs, checks and times each work, writes the output. */
export async function runPeer(build: (data: PeerData, args: PeerArgs) => Promise<PeerImpl>): Promise<void> {
  const args = parsePeerArgs();
  const data = JSON.parse(readFileSync(args.data, 'utf8')) as PeerData;
  const ref = JSON.parse(readFileSync(args.ref, 'utf8')) as RefData;
  const impl = await build(data, args);
  const results: WorkOutcome[] = [];
  for (const work of args.works) {
    const c = impl.calls[work];
    const out: WorkOutcome = { work, supported: false, reason: null, rel_err: null, samples_ms: [] };
    results.push(out);
    if (!c) {
      out.reason = impl.explain?.[work] ?? 'not implemented';
      continue;
    }
    try {
      out.rel_err = relErr(c.answer(), ref[work]!);
    } catch (e) {
      out.reason = `error: ${(e as Error).message}`;
      continue;
    }
    if (!(out.rel_err <= args.tol)) {
      out.reason = `wrong answer: rel_err ${out.rel_err.toPrecision(3)} vs metagrad float64 (tolerance ${args.tol})` +
        (impl.explain?.[work] ? `; ${impl.explain[work]}` : '');
      continue;
    }
    out.supported = true;
    if (!args.checkOnly) out.samples_ms = timeCalls(() => c.timed(), args);
  }
  const output: PeerOutput = { peer: impl.peer, variant: args.variant, dtype: args.dtype, threads: args.threads, version: impl.version, info: impl.info, results };
  writeFileSync(args.out, JSON.stringify(output));
}
