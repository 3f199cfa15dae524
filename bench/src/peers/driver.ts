/**
 * What both peer drivers (index.ts: `npm run bench:peers`, scaling.ts: `npm run bench:scaling`) share: the
 * peers and how to start them, metagrad's float64 reference answers, and running one peer process at a time
 * (protocol.ts describes what a peer process does).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type PolicyParams, ALPHA } from '../policy.js';
import { workloadFromData } from '../workloads.js';
import { type Leaf, type PeerData, type PeerDType, type PeerOutput, type RefData, type Work, LEAVES } from './protocol.js';
import { metaGradSteps } from './scaled.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const HERE = fileURLToPath(new URL('.', import.meta.url));

/** One peer configuration: a process per dtype. */
export interface PeerSpec {
  /** Shown in tables and plots. */
  label: string;
  peer: 'metagrad' | 'tfjs' | 'jax-js' | 'pytorch';
  variant: string | null;
  threads: number;
  /** The dtypes it runs; any other is recorded as unsupported with `noDtype`'s reason. */
  dtypes: readonly PeerDType[];
  noDtype?: string;
  /** Set when the peer cannot run here at all (e.g. no Python with torch). */
  unavailable?: string;
}

/** The first Python that imports torch: $TORCH_PYTHON, /usr/bin/python3 (Debian's python3-torch), python3. */
export function findTorchPython(): { python: string | null; reason: string } {
  const tried: string[] = [];
  for (const py of [process.env['TORCH_PYTHON'], '/usr/bin/python3', 'python3'].filter((p): p is string => !!p)) {
    const r = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' });
    if (r.status === 0) return { python: py, reason: '' };
    tried.push(`${py}: ${r.error ? r.error.message : (r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`)}`);
  }
  return { python: null, reason: `no Python that imports torch (${tried.join('; ')})` };
}

/** The command line of a peer process (everything but the protocol arguments). */
function command(spec: PeerSpec, python: string | null): string[] {
  const js = (f: string): string[] => [process.execPath, path.join(HERE, f)];
  switch (spec.peer) {
    case 'metagrad': return js('metagrad.js');
    case 'tfjs': return js('tfjs.js');
    case 'jax-js': return js('jaxjs.js');
    case 'pytorch': return [python ?? 'python3', path.join(ROOT, 'bench/peers/torch_workloads.py')];
  }
}

/** Timing options passed to a peer process. */
export interface TimingOptions { warmup: number; reps: number; minReps: number; budgetMs: number; tol: number; timeoutS: number }

/**
 * Runs one peer process for one dtype and returns its output. A process that fails (crash, timeout, out of
 * memory) yields every work unsupported, with the reason.
 */
export function runPeerProcess(
  spec: PeerSpec, dtype: PeerDType, works: readonly Work[], files: { data: string; ref: string; dir: string }, o: TimingOptions, python: string | null,
): PeerOutput {
  const out = path.join(files.dir, `out-${spec.peer}-${spec.variant ?? ''}-${spec.threads}-${dtype}.json`);
  rmSync(out, { force: true });
  const [cmd, ...pre] = command(spec, python);
  const argv = [
    ...pre, '--data', files.data, '--ref', files.ref, '--dtype', dtype, '--works', works.join(','), '--out', out,
    '--threads', String(spec.threads), '--warmup', String(o.warmup), '--reps', String(o.reps), '--min-reps', String(o.minReps),
    '--budget-ms', String(o.budgetMs), '--tol', String(o.tol), ...(spec.variant ? ['--variant', spec.variant] : []),
  ];
  const t = String(spec.threads);
  const env = { ...process.env, OMP_NUM_THREADS: t, OPENBLAS_NUM_THREADS: t, MKL_NUM_THREADS: t, METAGRAD_THREADS: spec.peer === 'metagrad' ? t : '1' };
  const r = spawnSync(cmd!, argv, { env, encoding: 'utf8', timeout: o.timeoutS * 1000, maxBuffer: 64 << 20 });
  if (r.status === 0 && existsSync(out)) return JSON.parse(readFileSync(out, 'utf8')) as PeerOutput;
  const why = r.error?.message ?? (r.signal ? `killed by ${r.signal}` : `exit code ${r.status}`);
  const last = `${r.stderr ?? ''}`.trim().split('\n').filter((l) => l.trim()).slice(-1)[0] ?? '';
  process.stderr.write(`  ${spec.label} ${dtype}: the process failed (${why})\n${(r.stderr ?? '').split('\n').slice(-15).join('\n')}\n`);
  return {
    peer: spec.peer, variant: spec.variant, dtype, threads: spec.threads, version: '', info: {},
    results: works.map((work) => ({ work, supported: false, reason: `process failed (${why}): ${last.slice(0, 300)}`, rel_err: null, samples_ms: [] })),
  };
}

/** metagrad's float64 answer to each work, computed in this process (the reference every peer is checked against). */
export function referenceAnswers(data: PeerData, works: readonly Work[]): RefData {
  const w = workloadFromData(data, 'float64');
  const plain = (p: PolicyParams): Record<Leaf, number[]> => Object.fromEntries(LEAVES.map((k) => [k, Array.from(p[k].data)])) as Record<Leaf, number[]>;
  const calls: Record<Work, () => PolicyParams> = {
    inner_grad: () => w.innerGrad(),
    meta_grad: () => (data.steps === 1 && data.alpha === ALPHA ? w.metaGrad() : metaGradSteps(w.params, w.pre, w.post, data.steps, data.alpha)),
    hvp: () => w.hvp(),
  };
  return Object.fromEntries(works.map((k) => [k, plain(calls[k]())])) as RefData;
}

/** Writes the inputs and the reference answers to a fresh temporary folder (removed by `cleanup`). */
export function writeInputs(data: PeerData, ref: RefData): { data: string; ref: string; dir: string; cleanup(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'metagrad-peers-'));
  const files = { data: path.join(dir, 'data.json'), ref: path.join(dir, 'ref.json'), dir };
  writeFileSync(files.data, JSON.stringify(data));
  writeFileSync(files.ref, JSON.stringify(ref));
  return { ...files, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The 1-minute load average, to record with the results: on this 2-core machine anything else running
 * (another benchmark, a test run) slows the peers unevenly, PyTorch at 2 threads most of all.
 */
export function loadAverage(): number {
  return Number(os.loadavg()[0]!.toFixed(2));
}

/** A compact `key=value` string of a peer's info (its note has a field of its own), for one JSON field. */
export const infoString = (info: Record<string, string | number | boolean>): string =>
  Object.entries(info).filter(([k]) => k !== 'note').map(([k, v]) => `${k}=${v}`).join(', ');
