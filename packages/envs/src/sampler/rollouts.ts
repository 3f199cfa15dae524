/**
 * The vectorized executor shared by the serial and the worker sampler: a block of environments — one
 * per (task, rollout) — steps in lock step, with one batched policy call per time step and policy over
 * the environments still running, and keeps every step it takes.
 *
 * Two ways to sample (`SamplingMode`):
 * - 'steps' (the reference's MetaSampler with its vectorized executor): an environment whose episode
 *   ends (termination, divergence, or `horizon` steps) is reset at once and keeps going; the caller
 *   stops every environment at the first time step T* at which the finished paths of ALL environments
 *   hold n·horizon steps ({@link stopTime}); paths still running at T* are dropped. Since every
 *   environment's first episode ends by `horizon` and any running one is shorter than `horizon`,
 *   horizon ≤ T* ≤ 2·horizon − 1, and T* = horizon when nothing ends early (then both modes agree).
 * - 'episodes': exactly one episode per environment, at most `horizon` steps; an environment whose
 *   episode ended stops.
 * An environment's steps depend on its own Rng, task and policy only, never on the other environments
 * of its block, so the serial and the worker sampler (which only has to agree on T*) return the same
 * paths bit for bit.
 */
import type { Rng } from '@metagrad/autograd';
import { type SimMessages, drainSimMessages } from '../mujoco/runtime.js';
import type { MetaEnv } from '../core/types.js';
import { flatDim } from '../core/types.js';
import type { BatchedPolicy } from './policy.js';

/** 'steps' (the reference's: reset and continue, stop at n·horizon finished steps) or 'episodes' (one episode per environment). */
export type SamplingMode = 'steps' | 'episodes';

/** The sampling modes, the default first. */
export const samplingModes: readonly SamplingMode[] = Object.freeze(['steps', 'episodes'] as const);

/** The finished paths of a block of environments: their steps end to end, in (environment, time) order. */
export interface RolloutBlock {
  /** [nPaths] the block-local environment of each path. */
  env: Int32Array;
  /** [nPaths] steps of each path. */
  lengths: Int32Array;
  /** [steps, obsDim] the observation each action was taken in. */
  obs: Float64Array;
  /** [steps, actDim] the actions as the policy produced them (before the env's clipping). */
  actions: Float64Array;
  /** [steps] */
  rewards: Float64Array;
  /** [steps] 1 at the step where the env ended the episode (termination or divergence, not the horizon). */
  dones: Uint8Array;
  /** [nPaths, obsDim] the observation after each path's last step. */
  finalObs: Float64Array;
  /** [steps] per info key. */
  infos: Record<string, Float64Array>;
  /** Divergences: the block-local path index and the env's message. */
  divergences: {
    /** The block-local path index. */
    traj: number;
    /** The env's message (names the env and the cause). */
    message: string;
  }[];
  /** What the simulator printed while this block ran (MuJoCo's warnings), captured instead of printed. */
  simMessages: SimMessages;
}

/** One time step of the whole block (rows of environments that did not step are zeros). */
interface StepRecord {
  obs: Float64Array;
  actions: Float64Array;
  rewards: Float64Array;
  dones: Uint8Array;
  infos: Float64Array[];
}

/** A finished path of one environment. */
interface Path {
  start: number;
  length: number;
  finalObs: Float64Array;
  diverged: string | null;
}

/**
 * A block of environments being stepped: environment e runs a clone of `template` with task tasks[e],
 * Rng rngs[e] (its reset noise, stochastic transitions and policy noise) and policy
 * policies[policyOf[e]]. `advance(T)` steps every running environment to time T; `finishedSteps(t)` is
 * the block's number of steps in paths finished by time t; `collect(T*)` returns the paths finished by T*.
 */
export class RolloutStreams<Task> {
  /** Number of environments. */
  readonly n: number;
  /** Time steps taken so far. */
  t = 0;
  private readonly envs: MetaEnv<Task>[] = [];
  private readonly current: Float64Array[] = [];
  private readonly pathStart: Int32Array;
  private readonly running: Uint8Array;
  private nRunning: number;
  private readonly paths: Path[][];
  private readonly records: StepRecord[] = [];
  /** finished[t]: the block's steps in paths finished by time t. */
  private readonly finished: number[] = [0];
  private messages: SimMessages = { count: 0, first: null };
  private readonly obsDim: number;
  private readonly actDim: number;
  private readonly discreteActions: boolean;
  private readonly infoKeys: readonly string[];

  /** The longest an episode runs (steps). */
  readonly horizon: number;
  /** 'steps' (reset and continue) or 'episodes' (stop after one). */
  readonly mode: SamplingMode;
  private readonly rngs: readonly Rng[];
  private readonly policies: readonly BatchedPolicy[];
  private readonly policyOf: Int32Array;

  constructor(template: MetaEnv<Task>, tasks: readonly Task[], rngs: readonly Rng[], horizon: number, policies: readonly BatchedPolicy[], policyOf: Int32Array, mode: SamplingMode) {
    this.rngs = rngs;
    this.horizon = horizon;
    this.policies = policies;
    this.policyOf = policyOf;
    this.mode = mode;
    const n = tasks.length;
    if (rngs.length !== n) throw new Error(`sampler: ${n} tasks but ${rngs.length} Rngs`);
    if (policyOf.length !== n) throw new Error(`sampler: ${n} tasks but ${policyOf.length} policy indices`);
    this.n = n;
    this.obsDim = flatDim(template.observationSpace);
    this.actDim = flatDim(template.actionSpace);
    this.discreteActions = template.actionSpace.kind === 'discrete';
    this.infoKeys = template.infoKeys;
    this.pathStart = new Int32Array(n);
    this.running = new Uint8Array(n).fill(1);
    this.nRunning = n;
    this.paths = Array.from({ length: n }, () => []);
    for (let e = 0; e < n; e++) {
      const env = template.clone();
      env.setTask(tasks[e]!);
      this.envs.push(env);
      this.current.push(env.reset(rngs[e]!));
    }
  }

  /** Steps every running environment until time T (or until none runs, in 'episodes' mode). */
  advance(T: number): void {
    drainSimMessages(); // messages from before belong to someone else
    const { n, obsDim, actDim, horizon: H, infoKeys } = this;
    const obsBatch = new Float64Array(n * obsDim);
    const actBatch = new Float64Array(n * actDim);
    const action = new Float64Array(actDim);
    const groupRngs: Rng[] = [];
    for (; this.t < T && this.nRunning > 0; this.t++) {
      const t = this.t;
      const rec: StepRecord = {
        obs: new Float64Array(n * obsDim), actions: new Float64Array(n * actDim), rewards: new Float64Array(n), dones: new Uint8Array(n),
        infos: infoKeys.map(() => new Float64Array(n)),
      };
      let finished = this.finished[t]!;
      // one policy call per run of consecutive running environments with the same policy
      for (let e0 = 0; e0 < n;) {
        if (!this.running[e0]) {
          e0++;
          continue;
        }
        const p = this.policyOf[e0]!;
        let m = 0;
        groupRngs.length = 0;
        for (let e = e0; e < n && this.policyOf[e] === p; e++) {
          if (!this.running[e]) continue;
          obsBatch.set(this.current[e]!, m * obsDim);
          groupRngs.push(this.rngs[e]!);
          m++;
        }
        this.policies[p]!(obsBatch, m, groupRngs, actBatch);
        let k = 0;
        for (; e0 < n && this.policyOf[e0] === p; e0++) {
          const e = e0;
          if (!this.running[e]) continue;
          const a = actBatch.subarray(k * actDim, ++k * actDim);
          rec.obs.set(this.current[e]!, e * obsDim);
          rec.actions.set(a, e * actDim);
          action.set(a);
          const r = this.envs[e]!.step(this.discreteActions ? action[0]! : action);
          rec.rewards[e] = r.reward;
          for (let j = 0; j < infoKeys.length; j++) rec.infos[j]![e] = r.info[infoKeys[j]!] ?? 0;
          const ended = r.done || r.diverged !== undefined;
          if (ended) rec.dones[e] = 1;
          const length = t + 1 - this.pathStart[e]!;
          if (!ended && length < H) {
            this.current[e] = r.obs;
            continue;
          }
          this.paths[e]!.push({ start: this.pathStart[e]!, length, finalObs: Float64Array.from(r.obs), diverged: r.diverged ?? null });
          finished += length;
          if (this.mode === 'episodes') {
            this.running[e] = 0;
            this.nRunning--;
          }
          else {
            this.current[e] = this.envs[e]!.reset(this.rngs[e]!);
            this.pathStart[e] = t + 1;
          }
        }
      }
      this.records.push(rec);
      this.finished.push(finished);
    }
    const m = drainSimMessages();
    this.messages = { count: this.messages.count + m.count, first: this.messages.first ?? m.first };
  }

  /** The block's steps in paths finished by time t (t ≤ this.t). */
  finishedSteps(t: number): number {
    if (!(t >= 0 && t <= this.t)) throw new Error(`sampler: finishedSteps(${t}) outside the steps taken (0 … ${this.t})`);
    return this.finished[t]!;
  }

  /** The paths finished by time T (every path in 'episodes' mode), in (environment, time) order. */
  collect(T: number): RolloutBlock {
    const { obsDim, actDim, infoKeys } = this;
    const kept: { e: number; p: Path }[] = [];
    for (let e = 0; e < this.n; e++) for (const p of this.paths[e]!) if (p.start + p.length <= T) kept.push({ e, p });
    const steps = kept.reduce((s, k) => s + k.p.length, 0);
    const block: RolloutBlock = {
      env: Int32Array.from(kept, (k) => k.e),
      lengths: Int32Array.from(kept, (k) => k.p.length),
      obs: new Float64Array(steps * obsDim),
      actions: new Float64Array(steps * actDim),
      rewards: new Float64Array(steps),
      dones: new Uint8Array(steps),
      finalObs: new Float64Array(kept.length * obsDim),
      infos: Object.fromEntries(infoKeys.map((k) => [k, new Float64Array(steps)])),
      divergences: [],
      simMessages: this.messages,
    };
    const infoArrays = infoKeys.map((k) => block.infos[k]!);
    let i = 0;
    kept.forEach(({ e, p }, j) => {
      for (let t = p.start; t < p.start + p.length; t++, i++) {
        const rec = this.records[t]!;
        block.obs.set(rec.obs.subarray(e * obsDim, (e + 1) * obsDim), i * obsDim);
        block.actions.set(rec.actions.subarray(e * actDim, (e + 1) * actDim), i * actDim);
        block.rewards[i] = rec.rewards[e]!;
        block.dones[i] = rec.dones[e]!;
        for (let k = 0; k < infoKeys.length; k++) infoArrays[k]![i] = rec.infos[k]![e]!;
      }
      block.finalObs.set(p.finalObs, j * obsDim);
      if (p.diverged) block.divergences.push({ traj: j, message: p.diverged });
    });
    return block;
  }
}

/**
 * T*: the first time step t ≥ horizon at which `finishedSteps(t)` (all environments together) reaches
 * `target`, or null when it has not by time `until`. 'episodes' mode stops at the horizon.
 */
export function stopTime(mode: SamplingMode, horizon: number, target: number, until: number, finishedSteps: (t: number) => number): number | null {
  if (mode === 'episodes') return horizon;
  for (let t = horizon; t <= until; t++) if (finishedSteps(t) >= target) return t;
  return null;
}

/**
 * Runs `tasks.length` environments in this thread until the stop time (see the module comment) and
 * returns their finished paths: environment e with task tasks[e], Rng rngs[e] and policy
 * policies[policyOf[e]] (default: policies[0] for every environment).
 */
export function runRollouts<Task>(
  template: MetaEnv<Task>, tasks: readonly Task[], rngs: readonly Rng[], horizon: number, policies: BatchedPolicy | readonly BatchedPolicy[],
  opts: { mode?: SamplingMode; policyOf?: Int32Array } = {},
): RolloutBlock {
  const mode = opts.mode ?? 'steps';
  const list = typeof policies === 'function' ? [policies] : policies;
  const s = new RolloutStreams(template, tasks, rngs, horizon, list, opts.policyOf ?? new Int32Array(tasks.length), mode);
  const target = s.n * horizon;
  s.advance(horizon);
  let T = stopTime(mode, horizon, target, s.t, (t) => s.finishedSteps(t));
  while (T === null) {
    s.advance(s.t + 1);
    T = stopTime(mode, horizon, target, s.t, (t) => s.finishedSteps(t));
  }
  return s.collect(T);
}
