/**
 * Where meta_grad's time goes: runs meta_grad (float64) under V8's sampling profiler (`node --cpu-prof`)
 * in a child process, then attributes every sample's time to a category by the file of the function it
 * was in: matmul kernels, elementwise/reduction/copy kernels, storage allocation, graph and op
 * bookkeeping (tape, VJP rules, shape checks, broadcasting plans, tensor objects), GC, and the rest.
 * V8 builtins and runtime functions (Math.tanh, Map.set, typed-array constructors, ...) have no file;
 * they are charged to the nearest caller that has one. Samples under makeWorkload (the child builds the
 * policy and batches before its warm-up) are counted apart as setup.
 *
 *   npx tsc -b bench && node bench/dist/profile-notes.js [--reps 60] [--interval-us 250]
 *   node bench/dist/profile-notes.js --summarize path/to/file.cpuprofile     # an existing profile
 *
 * Prints the breakdown and the top functions by self time, and writes bench/results/profile.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Tensor, grad, setBackend, treeLeaves } from '@metagrad/autograd';
import { type PolicyParams, ALPHA, metaObjective } from './policy.js';
import { makeWorkload } from './workloads.js';
import { machine, median, sig, writeResults } from './results.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const WARMUP = 10;

/** The profiled child: warm up, then `reps` timed meta_grad calls. Prints the median. */
function runChild(reps: number): void {
  setBackend('cpu');
  const w = makeWorkload('float64');
  for (let i = 0; i < WARMUP; i++) w.metaGrad();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    w.metaGrad();
    times.push(performance.now() - t0);
  }
  console.log(JSON.stringify({ median_ms: median(times), reps }));
}

/** What one meta_grad call computes: primitive calls, matmuls and their FLOPs, other elements written. */
interface WorkCount {
  primitives: number; matmuls: number; matmulFlops: number; otherElements: number; byPrim: Record<string, number>;
  /** FLOPs and calls per matmul variant: nn = A·B, tn = Aᵀ·B, nt = A·Bᵀ, tt = Aᵀ·Bᵀ, with their shapes m×k×n. */
  byVariant: Record<string, { flops: number; calls: number; shapes: string[] }>;
}

/**
 * Counts the work of one meta_grad (float64) by recording it: with recording on, the outer gradient's
 * backward pass is kept too, so walking back from the result reaches every primitive the call ran
 * (forward, inner backward, post-batch forward, outer backward).
 */
function countMetaGradWork(): WorkCount {
  const w = makeWorkload('float64');
  const g = grad((p: PolicyParams) => metaObjective(p, w.pre, w.post, ALPHA))(w.params);
  const seen = new Set<Tensor>();
  const stack = [...treeLeaves(g)];
  const c: WorkCount = { primitives: 0, matmuls: 0, matmulFlops: 0, otherElements: 0, byPrim: {}, byVariant: {} };
  while (stack.length) {
    const t = stack.pop()!;
    if (seen.has(t) || !t.node) continue;
    seen.add(t);
    const { prim, inputs } = t.node;
    c.primitives++;
    c.byPrim[prim] = (c.byPrim[prim] ?? 0) + 1;
    if (prim === 'matmul') {
      const a = inputs[0]!, { transA, transB } = t.node.params as { transA: boolean; transB: boolean };
      const k = transA ? a.shape[a.ndim - 2]! : a.shape[a.ndim - 1]!;
      const flops = 2 * t.size * k;
      c.matmuls++;
      c.matmulFlops += flops;
      const variant = `${transA ? 't' : 'n'}${transB ? 't' : 'n'}`;
      const v = (c.byVariant[variant] ??= { flops: 0, calls: 0, shapes: [] });
      v.flops += flops;
      v.calls++;
      const shape = `${t.shape[t.ndim - 2]}×${k}×${t.shape[t.ndim - 1]}`;
      if (!v.shapes.includes(shape)) v.shapes.push(shape);
    } else c.otherElements += t.size;
    for (const x of inputs) if (!seen.has(x)) stack.push(x);
  }
  return c;
}

// ---------- .cpuprofile analysis ----------

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

/** The categories, in report order. */
const CATEGORIES = [
  'matmul kernels',
  'elementwise, reduction & copy kernels',
  'storage allocation',
  'graph & op bookkeeping',
  'GC',
  'benchmark & policy code',
  'setup (building the workload)',
  'other (runtime, module loading, idle)',
] as const;
type Category = (typeof CATEGORIES)[number];

/** The category of a frame with a source file, or null for builtins/runtime frames (charged to the caller). */
function categorize(f: CallFrame): Category | null {
  const { url, functionName: fn } = f;
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)' || fn === '(idle)' || fn === '(root)') return 'other (runtime, module loading, idle)';
  // exp and tanh run in wasm too (kernels/wasm/vmath.ts: functions exp_f64, tanh_f32, ...): elementwise
  if (url.includes('/kernels/wasm/vmath') || (url.startsWith('wasm://') && /^(exp|tanh)_f(32|64)$/.test(fn))) return 'elementwise, reduction & copy kernels';
  if (url.startsWith('wasm://') || /\/kernels\/(matmul|backend|wasm|gpujs)/.test(url)) return 'matmul kernels';
  if (url.includes('/kernels/cpu.')) return fn === 'alloc' || fn === 'allocZeroed' ? 'storage allocation' : 'elementwise, reduction & copy kernels';
  // per-dtype kernel copies are compiled with new Function: no file, but their own names
  if (url === '' && /^(unaryLoop|binaryRunLoop|reduce3Loop)$/.test(fn)) return 'elementwise, reduction & copy kernels';
  if (url.includes('/packages/autograd/')) return 'graph & op bookkeeping';
  if (url.includes('/bench/')) return 'benchmark & policy code';
  // builtins, V8 runtime and node: internals (Buffer allocation, Map/Set, sort, ...) run for their caller
  return null;
}

/** Self time (ms) per category and per function, from a V8 .cpuprofile. */
function summarize(profile: CpuProfile): { totalMs: number; byCategory: Record<Category, number>; topFunctions: { fn: string; file: string; category: Category; ms: number }[] } {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const catOf = new Map<number, Category>();
  const setup = new Map<number, boolean>();
  const inSetup = (id: number): boolean => {
    const known = setup.get(id);
    if (known !== undefined) return known;
    const p = parent.get(id);
    const r = byId.get(id)!.callFrame.functionName === 'makeWorkload' || (p !== undefined && inSetup(p));
    setup.set(id, r);
    return r;
  };
  const resolve = (id: number): Category => {
    const known = catOf.get(id);
    if (known) return known;
    const n = byId.get(id)!;
    let c = inSetup(id) ? 'setup (building the workload)' : categorize(n.callFrame);
    if (c === null) {
      const p = parent.get(id);
      c = p === undefined ? 'other (runtime, module loading, idle)' : resolve(p);
    }
    catOf.set(id, c);
    return c;
  };
  const self = new Map<number, number>();
  // timeDeltas[i] is the time since the previous sample; sample i lasts until sample i + 1
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = i + 1 < profile.timeDeltas.length ? profile.timeDeltas[i + 1]! : 0;
    self.set(profile.samples[i]!, (self.get(profile.samples[i]!) ?? 0) + dt / 1e3);
  }
  const byCategory = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>;
  const byFn = new Map<string, { fn: string; file: string; category: Category; ms: number }>();
  let totalMs = 0;
  for (const [id, ms] of self) {
    const n = byId.get(id)!;
    const cat = resolve(id);
    byCategory[cat] += ms;
    totalMs += ms;
    const file = n.callFrame.url ? path.basename(n.callFrame.url) : '(no file)';
    const key = `${n.callFrame.functionName || '(anonymous)'}@${file}:${n.callFrame.lineNumber + 1}/${cat}`;
    const e = byFn.get(key) ?? { fn: n.callFrame.functionName || '(anonymous)', file: `${file}:${n.callFrame.lineNumber + 1}`, category: cat, ms: 0 };
    e.ms += ms;
    byFn.set(key, e);
  }
  const topFunctions = [...byFn.values()].sort((a, b) => b.ms - a.ms);
  return { totalMs, byCategory, topFunctions };
}

function report(file: string, childMedian: number | null, reps: number | null): void {
  const s = summarize(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  const work = countMetaGradWork();
  const other = s.byCategory['other (runtime, module loading, idle)'] + s.byCategory['setup (building the workload)'];
  const busy = s.totalMs - other;
  const counted = CATEGORIES.filter((c) => c !== 'other (runtime, module loading, idle)' && c !== 'setup (building the workload)');
  console.log(`profile: ${file}`);
  console.log(`total sampled ${s.totalMs.toFixed(0)} ms, of which ${busy.toFixed(0)} ms in meta_grad work (fractions below are of that)`);
  console.table(
    counted.map((c) => ({
      category: c, ms: sig(s.byCategory[c], 4), 'share of work': `${((100 * s.byCategory[c]) / busy).toFixed(1)}%`,
    })),
  );
  console.log(`(not counted: ${other.toFixed(0)} ms of start-up, module loading, building the workload and idle)`);
  console.log('Top functions by self time (builtins and node internals are charged to their callers above, listed here as themselves):');
  console.table(s.topFunctions.slice(0, 20).map((f) => ({ function: f.fn, file: f.file, category: f.category, ms: sig(f.ms, 4), share: `${((100 * f.ms) / busy).toFixed(1)}%` })));
  const calls = reps === null ? null : reps + WARMUP;
  const matmulMsPerCall = calls === null ? null : s.byCategory['matmul kernels'] / calls;
  const effGflops = matmulMsPerCall === null ? null : work.matmulFlops / (matmulMsPerCall * 1e6);
  console.log(
    `One meta_grad: ${work.primitives} primitive calls, ${work.matmuls} matmuls (${(work.matmulFlops / 1e6).toFixed(0)} MFLOP), ` +
      `${(work.otherElements / 1e6).toFixed(1)} M elements written by the other primitives.` +
      (effGflops === null ? '' : ` Matmul time per call ${matmulMsPerCall!.toFixed(1)} ms → ${effGflops.toFixed(2)} GFLOP/s on these shapes.`),
  );
  if (calls !== null) {
    const fnMs = (name: string): number =>
      s.topFunctions.filter((f) => f.fn === name && f.category === 'matmul kernels').reduce((t, f) => t + f.ms, 0) / calls;
    console.table(Object.entries(work.byVariant).map(([variant, v]) => {
      const ms = fnMs(variant); // the plain-JS kernels are named after their variant (nn, tn, nt, tt)
      return {
        variant, calls: v.calls, MFLOP: sig(v.flops / 1e6, 3), 'shapes m×k×n': v.shapes.join(', '),
        'ms per meta_grad': ms > 0 ? sig(ms, 3) : 'n/a', 'GFLOP/s': ms > 0 ? sig(v.flops / (ms * 1e6), 3) : 'n/a',
      };
    }));
  }
  console.log(`Primitive calls by kind: ${Object.entries(work.byPrim).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const shares = Object.fromEntries(
    counted.map((c) => [`share ${c}`, sig(s.byCategory[c] / busy, 3)]),
  );
  const out = writeResults('profile', [{
    suite: 'profile', work: 'meta_grad', dtype: 'float64', backend: 'cpu', mode: null,
    median_ms: childMedian === null ? null : sig(childMedian, 4), gflops: null, steps_per_s: null, rel_err: null,
    machine: machine(), date: new Date().toISOString(), reps, warmup: WARMUP, profiled_ms: sig(busy, 4), ...shares,
    primitives_per_call: work.primitives, matmuls_per_call: work.matmuls, matmul_mflop_per_call: sig(work.matmulFlops / 1e6, 4),
    matmul_gflops_in_meta_grad: effGflops === null ? null : sig(effGflops, 3),
  }]);
  console.log(`wrote ${out}`);
}

const summarizeFile = arg('summarize');
if (process.argv.includes('--child')) {
  runChild(Number(arg('reps') ?? 60));
} else if (summarizeFile) {
  report(summarizeFile, null, null);
} else {
  const reps = Number(arg('reps') ?? 60);
  const interval = Number(arg('interval-us') ?? 250);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'metagrad-prof-'));
  const self = fileURLToPath(import.meta.url);
  console.log(`running ${reps} meta_grad (float64) calls under node --cpu-prof (sampling every ${interval} µs) ...`);
  const r = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-interval=${interval}`, self, '--child', '--reps', String(reps)], {
    // one thread: a worker thread's share of a matmul would not be in the main thread's profile
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, METAGRAD_THREADS: '1' },
  });
  if (r.status !== 0) throw new Error(`profiled child exited with ${r.status}`);
  const { median_ms } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { median_ms: number };
  console.log(`meta_grad median under the profiler: ${median_ms.toFixed(1)} ms`);
  const prof = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!prof) throw new Error(`no .cpuprofile in ${dir}`);
  report(path.join(dir, prof), median_ms, reps);
}
