/**
 * The common machinery of the MuJoCo tasks (the reference's gym MujocoEnv): frame skip, reset noise
 * around the model's default state, action checking and clipping to the actuators' ctrlrange, the
 * per-env integration state swapped in and out of a shared simulator, and divergence detection.
 */
import type { Rng } from '@metagrad/autograd';
import { EnvError, checkCount, clipToBox, readBoxAction } from '../core/errors.js';
import { boxSpace } from '../core/types.js';
import type { BoxSpace, EnvInfo, MetaEnv, StepResult } from '../core/types.js';
import { MJ_MAXVAL, getSim } from './runtime.js';
import type { MjSim, MujocoModule } from './runtime.js';

/** What a concrete task fixes about its simulator. */
export interface MujocoTaskConfig {
  /** Registry name, e.g. 'half-cheetah-fwd-back'. */
  readonly name: string;
  /** Key of the MJCF model (one shared simulator per key and thread). */
  readonly modelKey: string;
  /** The MJCF text. */
  readonly xml: string;
  /** mj_step calls per env step; dt = frameSkip · timestep. */
  readonly frameSkip: number;
  /** The reference's max_path_length for the task. */
  readonly horizon: number;
  /** Observation length. */
  readonly obsDim: number;
  /** Keys of the step info. */
  readonly infoKeys: readonly string[];
  /** Whether observations or rewards read cfrc_ext (then mj_rnePostConstraint runs after each step). */
  readonly needsContactForces: boolean;
}

/** What `computeStep` returns: the reward, the termination flag and the info terms. */
export interface StepOutcome {
  /** The step's reward. */
  reward: number;
  /** Whether the task's termination condition holds after the step. */
  done: boolean;
  /** The reward terms, keyed by the task's infoKeys. */
  info: EnvInfo;
}

/**
 * Base class of the MuJoCo tasks. Subclasses give the reset noise, the observation, and the reward and
 * termination of a step; this class does everything else.
 */
export abstract class MujocoEnv<Task> implements MetaEnv<Task> {
  readonly name: string;
  /** Unbounded reals [obsDim] (the task's observation length). */
  readonly observationSpace: BoxSpace;
  /** The actuators' ctrlrange [nu]; actions outside it are clipped. */
  readonly actionSpace: BoxSpace;
  readonly horizon: number;
  readonly infoKeys: readonly string[];
  /** mj_step calls per env step. */
  readonly frameSkip: number;
  /** Seconds per env step: frameSkip · timestep (the reference's self.dt). */
  readonly dt: number;
  /** The MuJoCo module. */
  protected readonly mj: MujocoModule;
  /** The simulator shared with every env of the same model in this thread. */
  protected readonly sim: MjSim;
  /** The task's fixed configuration. */
  protected readonly config: MujocoTaskConfig;
  // This env's integration state (loaded into the shared simulator before each step).
  /** This env's simulation time. */
  protected time = 0;
  /** This env's qpos [nq]. */
  protected readonly qpos: Float64Array;
  /** This env's qvel [nv]. */
  protected readonly qvel: Float64Array;
  /** This env's actuator activations [na]. */
  protected readonly act: Float64Array;
  /** This env's qacc_warmstart [nv]. */
  protected readonly warm: Float64Array;
  /** Whether reset() has been called (step() throws before it). */
  protected started = false;
  /** Whether the last step diverged (step() throws until the next reset()). */
  protected diverged = false;
  private readonly a: Float64Array;
  /** The last observation returned (a diverged step returns a copy of it again). */
  private lastObs: Float64Array;

  constructor(mj: MujocoModule, config: MujocoTaskConfig, horizon?: number) {
    this.mj = mj;
    this.config = config;
    this.name = config.name;
    this.sim = getSim(mj, config.modelKey, config.xml);
    const sim = this.sim;
    sim.ensureViews();
    this.frameSkip = config.frameSkip;
    this.dt = sim.timestep * config.frameSkip;
    const h = horizon ?? config.horizon;
    if (!Number.isInteger(h) || h < 1) throw new EnvError(this.name, `horizon must be a positive integer, got ${h}`);
    this.horizon = h;
    this.infoKeys = config.infoKeys;
    const lo = new Float64Array(sim.nu), hi = new Float64Array(sim.nu);
    for (let i = 0; i < sim.nu; i++) {
      lo[i] = sim.actuatorCtrlrange[2 * i]!;
      hi[i] = sim.actuatorCtrlrange[2 * i + 1]!;
    }
    this.actionSpace = boxSpace(sim.nu, lo, hi);
    this.observationSpace = boxSpace(config.obsDim, -Infinity, Infinity);
    this.qpos = Float64Array.from(sim.qpos0);
    this.qvel = new Float64Array(sim.nv);
    this.act = new Float64Array(sim.na);
    this.warm = new Float64Array(sim.nv);
    this.a = new Float64Array(sim.nu);
    this.lastObs = new Float64Array(config.obsDim);
  }

  /** n tasks drawn from the task distribution with `rng`. */
  abstract sampleTasks(n: number, rng: Rng): Task[];
  /** Makes `task` the current task (does not reset the state); throws an EnvError on a malformed task. */
  abstract setTask(task: Task): void;
  /** The current task. */
  abstract getTask(): Task;
  /** A new env of the same task kind, options and current task (sharing the simulator), not yet reset. */
  abstract clone(): MujocoEnv<Task>;

  /** Adds the task's reset noise to qpos (starting at qpos0) and qvel (starting at 0), from `rng`. */
  protected abstract resetNoise(rng: Rng, qpos: Float64Array, qvel: Float64Array): void;
  /** Writes the observation of the simulator's current data into `out`. */
  protected abstract writeObs(out: Float64Array): void;
  /** Reads what the reward needs from before the step (e.g. the x position); called with the state loaded. */
  protected abstract beforeStep(): void;
  /** Reward, termination and info of the step just simulated (data holds the post-step state). */
  protected abstract computeStep(action: Float64Array): StepOutcome;
  /** Called after reset with the reset state's data computed (mj_forward). */
  protected afterReset(): void {}
  /** Writes this env's task parameters into the model if another env's are there (RandParams). */
  protected applyParams(): void {}

  /** The number of tasks check shared by subclasses. */
  protected checkN(n: number): void {
    checkCount(this.name, 'n', n);
  }

  /** Loads this env's integration state into the shared simulator. */
  protected load(): void {
    const sim = this.sim;
    sim.ensureViews();
    this.applyParams();
    if (sim.owner === this) return;
    sim.qpos.set(this.qpos);
    sim.qvel.set(this.qvel);
    if (this.act.length) sim.act.set(this.act);
    sim.qaccWarmstart.set(this.warm);
    sim.time = this.time;
    sim.owner = this;
  }

  /** Copies the simulator's integration state back into this env. */
  protected save(): void {
    const sim = this.sim;
    this.qpos.set(sim.qpos);
    this.qvel.set(sim.qvel);
    if (this.act.length) this.act.set(sim.act);
    this.warm.set(sim.qaccWarmstart);
    this.time = sim.time;
  }

  /** The reference's reset_model: qpos0 + noise, noise velocities, then mj_forward. */
  reset(rng: Rng): Float64Array {
    const sim = this.sim;
    sim.ensureViews();
    this.applyParams();
    sim.resetData();
    sim.ensureViews();
    this.qpos.set(sim.qpos0);
    this.qvel.fill(0);
    this.resetNoise(rng, this.qpos, this.qvel);
    sim.qpos.set(this.qpos);
    sim.qvel.set(this.qvel);
    sim.owner = this;
    this.started = true;
    return this.settle();
  }

  /** After qpos/qvel were written: mj_forward, save the state, and return the new observation. */
  private settle(): Float64Array {
    const sim = this.sim;
    sim.forward();
    if (this.config.needsContactForces) sim.rnePostConstraint();
    this.save();
    this.diverged = false;
    this.afterReset();
    const obs = new Float64Array(this.config.obsDim);
    this.writeObs(obs);
    this.lastObs = obs;
    return Float64Array.from(obs);
  }

  /**
   * One env step: checks the action (shape, finite), clips it to ctrlrange, runs frameSkip mj_steps
   * with ctrl = action, and computes the task's reward and termination. A state that turns non-finite
   * or larger than 1e10 ends the episode with reward 0 and the last finite observation (`diverged`).
   */
  step(action: ArrayLike<number> | number): StepResult {
    if (!this.started) throw new EnvError(this.name, 'step() before reset()');
    if (this.diverged) throw new EnvError(this.name, 'step() after the simulation diverged; call reset()');
    const a = clipToBox(readBoxAction(this.name, this.actionSpace, action, this.a), this.actionSpace);
    this.load();
    const sim = this.sim;
    this.beforeStep();
    sim.ctrl.set(a);
    let bad = -1;
    for (let k = 0; k < this.frameSkip; k++) {
      sim.step();
      if (!this.finiteState()) {
        bad = k;
        break;
      }
    }
    if (bad < 0 && this.config.needsContactForces) sim.rnePostConstraint();
    if (bad >= 0) return this.divergedResult(`state is NaN, infinite or beyond 1e10 after mj_step ${bad + 1} of ${this.frameSkip}`);
    const out = this.computeStep(a);
    if (!Number.isFinite(out.reward)) return this.divergedResult(`reward is ${out.reward}`);
    this.save();
    const obs = new Float64Array(this.config.obsDim);
    this.writeObs(obs);
    for (let i = 0; i < obs.length; i++) if (!Number.isFinite(obs[i]!)) return this.divergedResult(`observation[${i}] is ${obs[i]}`);
    this.lastObs = obs;
    return { obs, reward: out.reward, done: out.done, info: out.info };
  }

  /** True when every qpos and qvel entry is finite and at most 1e10 in magnitude (MuJoCo's bad-state test). */
  protected finiteState(): boolean {
    const { qpos, qvel } = this.sim;
    for (let i = 0; i < qpos.length; i++) if (!(Math.abs(qpos[i]!) <= MJ_MAXVAL)) return false;
    for (let i = 0; i < qvel.length; i++) if (!(Math.abs(qvel[i]!) <= MJ_MAXVAL)) return false;
    return true;
  }

  private divergedResult(cause: string): StepResult {
    const sim = this.sim;
    const warnings = sim.newWarnings();
    sim.owner = null; // the data holds a broken state; the next load rewrites it
    this.diverged = true;
    // The last observation returned, with any non-finite entry (a state set to NaN) replaced by 0.
    const obs = this.lastObs.map((v) => (Number.isFinite(v) ? v : 0));
    const info: Record<string, number> = {};
    for (const k of this.infoKeys) info[k] = 0;
    const w = warnings.length ? `; MuJoCo warning ${warnings.join(', ')}` : '';
    return { obs, reward: 0, done: true, info, diverged: `${this.name}: simulation diverged at t=${this.time.toFixed(4)} (${cause}${w}); episode ended` };
  }

  /** A copy of this env's state: qpos [nq] and qvel [nv]. */
  getState(): {
    /** Generalized positions [nq]. */
    qpos: Float64Array;
    /** Generalized velocities [nv]. */
    qvel: Float64Array;
  } {
    return { qpos: Float64Array.from(this.qpos), qvel: Float64Array.from(this.qvel) };
  }

  /**
   * Sets qpos and qvel (any values, for tests and analysis) and recomputes the derived quantities
   * (mj_forward); the warmstart is zeroed. Like the reference's set_state.
   */
  setState(qpos: ArrayLike<number>, qvel: ArrayLike<number>): Float64Array {
    if (!this.started) throw new EnvError(this.name, 'setState() before reset()');
    if (qpos.length !== this.qpos.length) throw new EnvError(this.name, `qpos must have ${this.qpos.length} entries, got ${qpos.length}`);
    if (qvel.length !== this.qvel.length) throw new EnvError(this.name, `qvel must have ${this.qvel.length} entries, got ${qvel.length}`);
    this.load();
    const sim = this.sim;
    sim.qpos.set(qpos);
    sim.qvel.set(qvel);
    sim.qaccWarmstart.fill(0);
    return this.settle();
  }

  /** Shared simulator (for tests that inspect the model, e.g. RandParams). */
  get simulator(): MjSim {
    return this.sim;
  }
}

/** Sum of squares of a[0..n). */
export function sumSquares(a: ArrayLike<number>, n = a.length): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i]! * a[i]!;
  return s;
}
