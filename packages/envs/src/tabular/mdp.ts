/**
 * Finite-horizon tabular MDPs: S states, A actions, horizon H, initial distribution init[s],
 * transitions P[s][a][s'] and rewards R[s][a]. The exact-analysis tools of @metagrad/rl read the raw
 * arrays; the same object is a MetaEnv (observation = the state index, action = an integer).
 */
import type { Rng } from '@metagrad/autograd';
import { EnvError, checkCount, readDiscreteAction } from '../core/errors.js';
import { discreteSpace } from '../core/types.js';
import type { DiscreteSpace, MetaEnv, StepResult } from '../core/types.js';

/** The data of a tabular MDP (what `new TabularMDP` takes; a TabularMDP is one too). */
export interface TabularMDPSpec {
  /** Number of states. */
  readonly S: number;
  /** Number of actions. */
  readonly A: number;
  /** Horizon: steps per episode. */
  readonly H: number;
  /** Initial distribution [S]: init[s] = P(s0 = s); sums to 1. */
  readonly init: ArrayLike<number>;
  /** Transitions [S][A][S]: P[s][a][s'] = P(s' | s, a); each P[s][a] sums to 1. */
  readonly P: ArrayLike<ArrayLike<ArrayLike<number>>>;
  /** Rewards [S][A]: R[s][a], finite, paid for taking a in s. */
  readonly R: ArrayLike<ArrayLike<number>>;
}

/** Tolerance on probability sums. */
const SUM_TOL = 1e-9;

function checkDistribution(name: string, what: string, p: ArrayLike<number>, n: number): void {
  if (p === null || typeof p !== 'object' || typeof p.length !== 'number') throw new EnvError(name, `${what} must be an array of ${n} probabilities`);
  if (p.length !== n) throw new EnvError(name, `${what} has ${p.length} entries, expected ${n}`);
  let s = 0;
  for (let i = 0; i < n; i++) {
    const v = p[i]!;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new EnvError(name, `${what}[${i}] must be a finite non-negative probability, got ${String(v)}`);
    s += v;
  }
  if (Math.abs(s - 1) > SUM_TOL) throw new EnvError(name, `${what} must sum to 1, sums to ${s}`);
}

/** Throws a clear error unless `spec` is a valid tabular MDP (sizes, probabilities, finite rewards). */
export function validateTabularMDP(spec: TabularMDPSpec, name = 'TabularMDP'): void {
  if (spec === null || typeof spec !== 'object') throw new EnvError(name, 'expected { S, A, H, init, P, R }');
  for (const k of ['S', 'A', 'H'] as const) {
    const v = spec[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new EnvError(name, `${k} must be a positive integer, got ${String(v)}`);
  }
  const { S, A } = spec;
  checkDistribution(name, 'init', spec.init, S);
  if (!spec.P || spec.P.length !== S) throw new EnvError(name, `P must have S = ${S} rows, got ${spec.P?.length}`);
  if (!spec.R || spec.R.length !== S) throw new EnvError(name, `R must have S = ${S} rows, got ${spec.R?.length}`);
  for (let s = 0; s < S; s++) {
    const Ps = spec.P[s]!, Rs = spec.R[s]!;
    if (!Ps || Ps.length !== A) throw new EnvError(name, `P[${s}] must have A = ${A} rows, got ${Ps?.length}`);
    if (!Rs || Rs.length !== A) throw new EnvError(name, `R[${s}] must have A = ${A} entries, got ${Rs?.length}`);
    for (let a = 0; a < A; a++) {
      checkDistribution(name, `P[${s}][${a}]`, Ps[a]!, S);
      const r = Rs[a]!;
      if (typeof r !== 'number' || !Number.isFinite(r)) throw new EnvError(name, `R[${s}][${a}] must be a finite number, got ${String(r)}`);
    }
  }
}

/** A point of the simplex of dimension k: Dirichlet(1), by normalized exponentials −log(1 − u). */
function simplex(k: number, rng: Rng): number[] {
  const x = Array.from({ length: k }, () => -Math.log(1 - rng.uniform()));
  const s = x.reduce((a, b) => a + b, 0);
  return x.map((v) => v / s);
}

/**
 * A tabular MDP: validated, with the raw arrays as readonly fields (nested as given, and flat typed
 * copies for fast exact analysis). As a MetaEnv it is a single task: an episode starts at s0 ~ init,
 * each step pays R[s][a] and moves to s' ~ P[s][a]; the sampler stops it after H steps.
 */
export class TabularMDP implements MetaEnv<TabularMDPSpec>, TabularMDPSpec {
  readonly name: string = 'tabular';
  /** Number of states. */
  readonly S: number;
  /** Number of actions. */
  readonly A: number;
  /** Horizon: steps per episode. */
  readonly H: number;
  /** Initial distribution [S] (a frozen copy). */
  readonly init: readonly number[];
  /** Transitions P[s][a][s'] (a frozen copy). */
  readonly P: readonly (readonly (readonly number[])[])[];
  /** Rewards R[s][a] (a frozen copy). */
  readonly R: readonly (readonly number[])[];
  /** init as a Float64Array [S]. */
  readonly initFlat: Float64Array;
  /** P flattened row-major: pFlat[(s·A + a)·S + s'] = P[s][a][s']. */
  readonly pFlat: Float64Array;
  /** R flattened row-major: rFlat[s·A + a] = R[s][a]. */
  readonly rFlat: Float64Array;
  /** The states {0, …, S−1}; an observation is [s]. */
  readonly observationSpace: DiscreteSpace;
  /** The actions {0, …, A−1}. */
  readonly actionSpace: DiscreteSpace;
  readonly infoKeys: readonly string[] = Object.freeze([]);
  private episode: Episode | null = null;

  /** Validates and copies { S, A, H, init, P, R }; throws a clear error on malformed input. */
  constructor(spec: TabularMDPSpec) {
    validateTabularMDP(spec);
    const { S, A, H } = spec;
    this.S = S;
    this.A = A;
    this.H = H;
    this.init = Object.freeze(Array.from(spec.init));
    this.P = Object.freeze(Array.from(spec.P, (row) => Object.freeze(Array.from(row, (p) => Object.freeze(Array.from(p))))));
    this.R = Object.freeze(Array.from(spec.R, (row) => Object.freeze(Array.from(row))));
    this.initFlat = Float64Array.from(this.init);
    this.pFlat = new Float64Array(S * A * S);
    this.rFlat = new Float64Array(S * A);
    for (let s = 0; s < S; s++)
      for (let a = 0; a < A; a++) {
        this.pFlat.set(this.P[s]![a]!, (s * A + a) * S);
        this.rFlat[s * A + a] = this.R[s]![a]!;
      }
    this.observationSpace = discreteSpace(S);
    this.actionSpace = discreteSpace(A);
  }

  /**
   * A random MDP from `rng`: init and every P[s][a] ~ Dirichlet(1), R[s][a] ~ U[0, 1), drawn in that
   * order (init, then P row by row, then R) — the same draws as @metagrad/rl's randomTabular.
   */
  static random(S: number, A: number, H: number, rng: Rng): TabularMDP {
    for (const [k, v] of [['S', S], ['A', A], ['H', H]] as const)
      if (!Number.isInteger(v) || v < 1) throw new EnvError('TabularMDP.random', `${k} must be a positive integer, got ${v}`);
    const init = simplex(S, rng);
    const P = Array.from({ length: S }, () => Array.from({ length: A }, () => simplex(S, rng)));
    const R = Array.from({ length: S }, () => Array.from({ length: A }, () => rng.uniform()));
    return new TabularMDP({ S, A, H, init, P, R });
  }

  /** The MDP's horizon H. */
  get horizon(): number {
    return this.H;
  }

  /** A single-task env: every task is this MDP (the Rng is not used). */
  sampleTasks(n: number, _rng?: Rng): TabularMDPSpec[] {
    checkCount(this.name, 'n', n);
    return Array.from({ length: n }, () => this);
  }

  /** Accepts only this MDP (a TabularMDP is one fixed task; makeEnv('tabular') samples random MDPs). */
  setTask(task: TabularMDPSpec): void {
    if (!sameMDP(task, this))
      throw new EnvError(this.name, "a TabularMDP is a single task; use makeEnv('tabular') for a distribution of random MDPs");
  }

  /** This MDP. */
  getTask(): TabularMDPSpec {
    return this;
  }

  /** s0 ~ init; the observation is [s0]. The env keeps `rng` for the episode's transitions. */
  reset(rng: Rng): Float64Array {
    this.episode = { rng, state: rng.categorical(this.initFlat) };
    return Float64Array.of(this.episode.state);
  }

  /** Pays R[s][a] and moves to s' ~ P[s][a] (drawn from the episode's Rng); never terminates (the sampler stops at H). */
  step(action: ArrayLike<number> | number): StepResult {
    return tabularStep(this, this.episode, action);
  }

  /** A new env over the same (shared, immutable) arrays, with its own episode state. */
  clone(): TabularMDP {
    const c = Object.create(TabularMDP.prototype) as TabularMDP;
    Object.assign(c, this);
    c.episode = null;
    return c;
  }
}

/** The state of a running episode. */
interface Episode {
  rng: Rng;
  state: number;
}

function tabularStep(mdp: TabularMDP, ep: Episode | null, action: ArrayLike<number> | number): StepResult {
  if (!ep) throw new EnvError(mdp.name, 'step() before reset()');
  const a = readDiscreteAction(mdp.name, mdp.actionSpace, action);
  const { S, A } = mdp;
  const s = ep.state;
  const reward = mdp.rFlat[s * A + a]!;
  ep.state = ep.rng.categorical(mdp.pFlat.subarray((s * A + a) * S, (s * A + a + 1) * S));
  return { obs: Float64Array.of(ep.state), reward, done: false, info: {} };
}

function sameArray(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when two specs describe the same MDP (same sizes and arrays, value by value). */
export function sameMDP(x: TabularMDPSpec, y: TabularMDPSpec): boolean {
  if (x === y) return true;
  if (!x || typeof x !== 'object' || x.S !== y.S || x.A !== y.A || x.H !== y.H || !sameArray(x.init, y.init)) return false;
  for (let s = 0; s < y.S; s++) {
    if (!x.P[s] || !x.R[s] || !sameArray(x.R[s]!, y.R[s]!)) return false;
    for (let a = 0; a < y.A; a++) if (!x.P[s]![a] || !sameArray(x.P[s]![a]!, y.P[s]![a]!)) return false;
  }
  return true;
}

/** Options of the 'tabular' env. */
export interface TabularEnvOptions {
  /** Number of states. Default 3. */
  S?: number;
  /** Number of actions. Default 2. */
  A?: number;
  /** Horizon. Default 3. */
  H?: number;
}

/**
 * The 'tabular' meta-env: tasks are random MDPs of fixed S, A, H (TabularMDP.random); setTask accepts
 * any valid spec of those sizes (a TabularMDP or its plain data, e.g. after a structured clone).
 */
export class TabularMetaEnv implements MetaEnv<TabularMDPSpec> {
  /** The registry name. */
  readonly name = 'tabular';
  /** Number of states of every task. */
  readonly S: number;
  /** Number of actions of every task. */
  readonly A: number;
  /** Horizon of every task. */
  readonly H: number;
  /** The states {0, …, S−1}; an observation is [s]. */
  readonly observationSpace: DiscreteSpace;
  /** The actions {0, …, A−1}. */
  readonly actionSpace: DiscreteSpace;
  readonly infoKeys: readonly string[] = Object.freeze([]);
  private mdp: TabularMDP;

  constructor(opts: TabularEnvOptions = {}) {
    const S = opts.S ?? 3, A = opts.A ?? 2, H = opts.H ?? 3;
    for (const [k, v] of [['S', S], ['A', A], ['H', H]] as const)
      if (!Number.isInteger(v) || v < 1) throw new EnvError(this.name, `${k} must be a positive integer, got ${v}`);
    this.S = S;
    this.A = A;
    this.H = H;
    this.observationSpace = discreteSpace(S);
    this.actionSpace = discreteSpace(A);
    // Until setTask: the MDP that stays put with reward 0 (a valid placeholder, never random).
    const stay = Array.from({ length: S }, (_, s) => Array.from({ length: A }, () => Array.from({ length: S }, (_, t) => (t === s ? 1 : 0))));
    this.mdp = new TabularMDP({ S, A, H, init: stay[0]![0]!, P: stay, R: Array.from({ length: S }, () => new Array<number>(A).fill(0)) });
  }

  /** The tasks' horizon H. */
  get horizon(): number {
    return this.H;
  }

  /** n random MDPs (TabularMDP.random(S, A, H, rng)), drawn one after another. */
  sampleTasks(n: number, rng: Rng): TabularMDPSpec[] {
    checkCount(this.name, 'n', n);
    return Array.from({ length: n }, () => TabularMDP.random(this.S, this.A, this.H, rng));
  }

  /** Makes `task` the current MDP (validated and copied); throws unless its S, A, H are this env's. */
  setTask(task: TabularMDPSpec): void {
    if (task === null || typeof task !== 'object') throw new EnvError(this.name, 'a task is a tabular MDP { S, A, H, init, P, R }');
    if (task.S !== this.S || task.A !== this.A || task.H !== this.H)
      throw new EnvError(this.name, `task has S=${task.S}, A=${task.A}, H=${task.H}; this env has S=${this.S}, A=${this.A}, H=${this.H}`);
    this.mdp = task instanceof TabularMDP ? task.clone() : new TabularMDP(task);
  }

  /** The current MDP (before any setTask: a placeholder that stays in state 0 with reward 0). */
  getTask(): TabularMDPSpec {
    return this.mdp;
  }

  /** s0 ~ init of the current MDP; the observation is [s0]. The env keeps `rng` for the episode's transitions. */
  reset(rng: Rng): Float64Array {
    return this.mdp.reset(rng);
  }

  /** Pays R[s][a] and moves to s' ~ P[s][a] in the current MDP; never terminates (the sampler stops at H). */
  step(action: ArrayLike<number> | number): StepResult {
    return this.mdp.step(action);
  }

  /** A new env with the same sizes and current task, and its own episode state. */
  clone(): TabularMetaEnv {
    const e = new TabularMetaEnv({ S: this.S, A: this.A, H: this.H });
    e.mdp = this.mdp.clone();
    return e;
  }
}
