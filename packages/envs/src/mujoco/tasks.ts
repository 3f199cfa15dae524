/**
 * The paper's MuJoCo meta-RL tasks, following the reference implementation (ProMP
 * meta_policy_search/envs/mujoco_envs and rand_param_envs): rewards, frame skips, termination,
 * observations and reset noise. See packages/envs/README.md for the table.
 */
import type { Rng } from '@metagrad/autograd';
import { EnvError } from '../core/errors.js';
import { MujocoEnv, sumSquares } from './base.js';
import type { MujocoTaskConfig, StepOutcome } from './base.js';
import { ANT_XML, HALF_CHEETAH_XML, HOPPER_XML, HUMANOID_XML, walker2dXml } from './models.js';
import type { MjSim, MujocoModule } from './runtime.js';

/** A direction task: +1 (forward) or −1 (backward); the velocity term is multiplied by it. */
export type DirectionTask = number;

/** A direction in the plane, a unit vector [dx, dy]: the reward pays the velocity along it. */
export type Direction2DTask = readonly [number, number];

/** Options shared by the MuJoCo tasks. */
export interface MujocoEnvOptions {
  /** Override of the task's horizon (the reference's max_path_length). */
  horizon?: number;
}

/** Options of the RandParams tasks. */
export interface RandParamsOptions extends MujocoEnvOptions {
  /** u ~ U(−limit, limit) in the multipliers 1.5^u (1.3^u for damping). Default 3 (the reference's log_scale_limit). */
  logScaleLimit?: number;
}

/** qpos[k..] then qvel, optionally clipped, into out; returns the next free index. */
function writeQ(sim: MjSim, out: Float64Array, from: number, clipVel: number): number {
  let o = 0;
  const { qpos, qvel } = sim;
  for (let i = from; i < qpos.length; i++) out[o++] = qpos[i]!;
  for (let i = 0; i < qvel.length; i++) {
    const v = qvel[i]!;
    out[o++] = v < -clipVel ? -clipVel : v > clipVel ? clipVel : v;
  }
  return o;
}

function uniformNoise(rng: Rng, x: Float64Array, c: number): void {
  for (let i = 0; i < x.length; i++) x[i] = x[i]! + rng.uniformIn(-c, c);
}

/** Base of the direction tasks: tasks ±1 with probability ½ each. */
abstract class DirectionEnv extends MujocoEnv<DirectionTask> {
  /** The current task: +1 (forward, the initial one) or −1 (backward). */
  protected direction: DirectionTask = 1;

  /** Each task is −1 or +1 with probability ½ (the reference's np.random.choice((−1, 1))). */
  sampleTasks(n: number, rng: Rng): DirectionTask[] {
    this.checkN(n);
    return Array.from({ length: n }, () => (rng.uniform() < 0.5 ? -1 : 1));
  }

  /** Sets the direction; throws an EnvError unless `task` is a finite number. */
  setTask(task: DirectionTask): void {
    if (typeof task !== 'number' || !Number.isFinite(task)) throw new EnvError(this.name, `a task is a direction (+1 or −1), got ${String(task)}`);
    this.direction = task;
  }

  /** The current direction. */
  getTask(): DirectionTask {
    return this.direction;
  }

  /** Gives `e` this env's direction (for clone). @internal */
  protected copyTaskTo(e: DirectionEnv): void {
    e.direction = this.direction;
  }
}

/**
 * Base of the 2-D direction tasks (the reference's AntRandDirec2DEnv, HumanoidRandDirec2DEnv): directions
 * uniform on the unit circle, drawn as a normalized 2-D standard normal.
 */
abstract class Direction2DEnv extends MujocoEnv<Direction2DTask> {
  /** The current direction (initially +x). */
  protected direction: Direction2DTask = [1, 0];

  /** Each task is a unit vector, a 2-D standard normal divided by its norm (the reference's sample_tasks). */
  sampleTasks(n: number, rng: Rng): Direction2DTask[] {
    this.checkN(n);
    return Array.from({ length: n }, () => {
      for (;;) {
        const x = rng.normal(), y = rng.normal();
        const r = Math.hypot(x, y);
        if (r > 0) return [x / r, y / r] as const;
      }
    });
  }

  /** Sets the direction; throws an EnvError unless `task` is two finite numbers. */
  setTask(task: Direction2DTask): void {
    const t = task as unknown as ArrayLike<number> | null;
    if (t === null || typeof t !== 'object' || t.length !== 2 || !Number.isFinite(t[0]) || !Number.isFinite(t[1]))
      throw new EnvError(this.name, `a task is a direction [dx, dy] in the plane (two finite numbers), got ${JSON.stringify(task)}`);
    this.direction = [t[0]!, t[1]!];
  }

  /** The current direction. */
  getTask(): Direction2DTask {
    return this.direction;
  }

  /** Gives `e` this env's direction (for clone). @internal */
  protected copyTaskTo(e: Direction2DEnv): void {
    e.direction = this.direction;
  }
}

const HALF_CHEETAH: MujocoTaskConfig = {
  name: 'half-cheetah-fwd-back', modelKey: 'half_cheetah', xml: HALF_CHEETAH_XML, frameSkip: 5, horizon: 100, obsDim: 17,
  infoKeys: Object.freeze(['reward_run', 'reward_ctrl']), needsContactForces: false,
};

/**
 * HalfCheetahRandDirecEnv: r = dir·(x' − x)/dt − 0.05·‖a‖², never terminates, frame skip 5 (dt 0.05),
 * obs = [qpos[1:], qvel] (17), reset qpos0 + U(±0.1), qvel N(0, 0.1²).
 */
export class HalfCheetahFwdBackEnv extends DirectionEnv {
  private x0 = 0;
  constructor(mj: MujocoModule, opts: MujocoEnvOptions = {}) {
    super(mj, HALF_CHEETAH, opts.horizon);
  }
  protected resetNoise(rng: Rng, qpos: Float64Array, qvel: Float64Array): void {
    uniformNoise(rng, qpos, 0.1);
    for (let i = 0; i < qvel.length; i++) qvel[i] = qvel[i]! + rng.normal() * 0.1;
  }
  protected writeObs(out: Float64Array): void {
    writeQ(this.sim, out, 1, Infinity);
  }
  protected beforeStep(): void {
    this.x0 = this.sim.qpos[0]!;
  }
  protected computeStep(a: Float64Array): StepOutcome {
    const run = (this.direction * (this.sim.qpos[0]! - this.x0)) / this.dt;
    const ctrl = -0.5 * 0.1 * sumSquares(a);
    return { reward: run + ctrl, done: false, info: { reward_run: run, reward_ctrl: ctrl } };
  }
  clone(): HalfCheetahFwdBackEnv {
    const e = new HalfCheetahFwdBackEnv(this.mj, { horizon: this.horizon });
    this.copyTaskTo(e);
    return e;
  }
}

const ANT: MujocoTaskConfig = {
  name: 'ant-rand-dir', modelKey: 'ant', xml: ANT_XML, frameSkip: 5, horizon: 200, obsDim: 111,
  infoKeys: Object.freeze(['reward_forward', 'reward_ctrl', 'reward_contact', 'reward_survive']), needsContactForces: true,
};

/**
 * AntRandDirec2DEnv (the paper's ant, "run in different directions in the 2D-plane"): r = d·Δ(x, y)_torso/dt
 * − 0.5·‖a‖² − 0.5e-3·‖clip(cfrc_ext, −1, 1)‖² + 1 for the task's unit direction d; done unless the state
 * is finite and 0 ≤ z_torso ≤ 1; frame skip 5 (dt 0.05); obs = [qpos[2:], qvel, clip(cfrc_ext)] (111).
 * (x, y)_torso is data.xpos of the torso as MuJoCo left it after the last step (the reference's get_body_com).
 */
export class AntRandDirEnv extends Direction2DEnv {
  private lastX = 0;
  private lastY = 0;
  constructor(mj: MujocoModule, opts: MujocoEnvOptions = {}) {
    super(mj, ANT, opts.horizon);
  }
  protected resetNoise(rng: Rng, qpos: Float64Array, qvel: Float64Array): void {
    uniformNoise(rng, qpos, 0.1);
    for (let i = 0; i < qvel.length; i++) qvel[i] = qvel[i]! + rng.normal() * 0.1;
  }
  protected override afterReset(): void {
    this.lastX = this.sim.xpos[3]!; // torso is body 1
    this.lastY = this.sim.xpos[4]!;
  }
  protected writeObs(out: Float64Array): void {
    let o = writeQ(this.sim, out, 2, Infinity);
    const f = this.sim.cfrcExt;
    for (let i = 0; i < f.length; i++) {
      const v = f[i]!;
      out[o++] = v < -1 ? -1 : v > 1 ? 1 : v;
    }
  }
  protected beforeStep(): void {}
  protected computeStep(a: Float64Array): StepOutcome {
    const sim = this.sim;
    const x = sim.xpos[3]!, y = sim.xpos[4]!;
    const forward = (this.direction[0] * (x - this.lastX) + this.direction[1] * (y - this.lastY)) / this.dt;
    this.lastX = x;
    this.lastY = y;
    const ctrl = 0.5 * sumSquares(a);
    let c = 0;
    const f = sim.cfrcExt;
    for (let i = 0; i < f.length; i++) {
      const v = f[i]! < -1 ? -1 : f[i]! > 1 ? 1 : f[i]!;
      c += v * v;
    }
    const contact = 0.5 * 1e-3 * c;
    const survive = 1;
    const z = sim.qpos[2]!;
    return {
      reward: forward - ctrl - contact + survive,
      done: !(z >= 0 && z <= 1),
      info: { reward_forward: forward, reward_ctrl: -ctrl, reward_contact: -contact, reward_survive: survive },
    };
  }
  clone(): AntRandDirEnv {
    const e = new AntRandDirEnv(this.mj, { horizon: this.horizon });
    this.copyTaskTo(e);
    return e;
  }
}

const WALKER_INFO = Object.freeze(['reward_run', 'reward_ctrl', 'reward_alive']);

/** done unless 0.8 < height < 2 and −1 < angle < 1 (the walker's reference termination). */
const walkerDone = (sim: MjSim): boolean => {
  const h = sim.qpos[1]!, ang = sim.qpos[2]!;
  return !(h > 0.8 && h < 2.0 && ang > -1.0 && ang < 1.0);
};

const WALKER_FWD_BACK: MujocoTaskConfig = {
  name: 'walker2d-fwd-back', modelKey: 'walker2d', xml: walker2dXml(0.002), frameSkip: 8, horizon: 200, obsDim: 17,
  infoKeys: WALKER_INFO, needsContactForces: false,
};

/**
 * Walker2DRandDirecEnv: r = dir·Δx/dt + 1 − 1e-3·‖a‖²; done unless 0.8 < h < 2 and |angle| < 1;
 * frame skip 8 on gym's walker2d (timestep 0.002, dt 0.016); obs = [qpos[1:], clip(qvel, ±10)] (17);
 * reset noise U(±0.005) on qpos and qvel.
 */
export class Walker2DFwdBackEnv extends DirectionEnv {
  private x0 = 0;
  constructor(mj: MujocoModule, opts: MujocoEnvOptions = {}) {
    super(mj, WALKER_FWD_BACK, opts.horizon);
  }
  protected resetNoise(rng: Rng, qpos: Float64Array, qvel: Float64Array): void {
    uniformNoise(rng, qpos, 0.005);
    uniformNoise(rng, qvel, 0.005);
  }
  protected writeObs(out: Float64Array): void {
    writeQ(this.sim, out, 1, 10);
  }
  protected beforeStep(): void {
    this.x0 = this.sim.qpos[0]!;
  }
  protected computeStep(a: Float64Array): StepOutcome {
    const run = (this.direction * (this.sim.qpos[0]! - this.x0)) / this.dt;
    const ctrl = -1e-3 * sumSquares(a);
    return { reward: run + 1 + ctrl, done: walkerDone(this.sim), info: { reward_run: run, reward_ctrl: ctrl, reward_alive: 1 } };
  }
  clone(): Walker2DFwdBackEnv {
    const e = new Walker2DFwdBackEnv(this.mj, { horizon: this.horizon });
    this.copyTaskTo(e);
    return e;
  }
}

const HUMANOID: MujocoTaskConfig = {
  name: 'humanoid-rand-dir', modelKey: 'humanoid', xml: HUMANOID_XML, frameSkip: 5, horizon: 200, obsDim: 376,
  infoKeys: Object.freeze(['reward_linvel', 'reward_quadctrl', 'reward_alive', 'reward_impact']), needsContactForces: true,
};

/**
 * HumanoidRandDirec2DEnv (the humanoid of the paper's Fig. 2): r = 0.25·d·Δ(center of mass x, y)/timestep
 * + 5 − 0.1·‖ctrl‖² − min(5e-7·‖cfrc_ext‖², 10) for the task's unit direction d (the reference divides by
 * the model timestep 0.003, not dt); done when the torso height leaves [1, 2]; frame skip 5; obs =
 * [qpos[2:], qvel, cinert, cvel, qfrc_actuator, cfrc_ext] (376); reset noise U(±0.01).
 */
export class HumanoidRandDirEnv extends Direction2DEnv {
  private lastCom: [number, number] = [0, 0];
  constructor(mj: MujocoModule, opts: MujocoEnvOptions = {}) {
    super(mj, HUMANOID, opts.horizon);
  }
  protected resetNoise(rng: Rng, qpos: Float64Array, qvel: Float64Array): void {
    uniformNoise(rng, qpos, 0.01);
    uniformNoise(rng, qvel, 0.01);
  }
  /** (x, y) of the center of mass: Σ m_i·xipos_i / Σ m_i (the reference's mass_center). */
  private comXY(): [number, number] {
    const { bodyMass, xipos } = this.sim;
    let mx = 0, my = 0, m = 0;
    for (let i = 0; i < bodyMass.length; i++) {
      mx += bodyMass[i]! * xipos[3 * i]!;
      my += bodyMass[i]! * xipos[3 * i + 1]!;
      m += bodyMass[i]!;
    }
    return [mx / m, my / m];
  }
  protected override afterReset(): void {
    this.lastCom = this.comXY();
  }
  protected writeObs(out: Float64Array): void {
    const sim = this.sim;
    let o = writeQ(sim, out, 2, Infinity);
    for (const f of [sim.cinert, sim.cvel, sim.qfrcActuator, sim.cfrcExt]) {
      out.set(f, o);
      o += f.length;
    }
  }
  protected beforeStep(): void {}
  protected computeStep(a: Float64Array): StepOutcome {
    const sim = this.sim;
    const com = this.comXY();
    const d = this.direction;
    const linvel = (0.25 * (d[0] * (com[0] - this.lastCom[0]) + d[1] * (com[1] - this.lastCom[1]))) / sim.timestep;
    this.lastCom = com;
    const quadctrl = 0.1 * sumSquares(a);
    const impact = Math.min(0.5e-6 * sumSquares(sim.cfrcExt), 10);
    const alive = 5;
    const z = sim.qpos[2]!;
    return {
      reward: linvel - quadctrl - impact + alive,
      done: z < 1 || z > 2,
      info: { reward_linvel: linvel, reward_quadctrl: -quadctrl, reward_alive: alive, reward_impact: -impact },
    };
  }
  clone(): HumanoidRandDirEnv {
    const e = new HumanoidRandDirEnv(this.mj, { horizon: this.horizon });
    this.copyTaskTo(e);
    return e;
  }
}

/**
 * A RandParams task (rand_param_envs base.py): the model's body_mass [nbody], body_inertia [nbody·3],
 * dof_damping [nv] and geom_friction [ngeom·3] (MuJoCo's field names and layouts).
 */
export interface RandParamsTask {
  /** Body masses [nbody]. */
  readonly body_mass: Float64Array;
  /** Body diagonal inertias [nbody·3]. */
  readonly body_inertia: Float64Array;
  /** Joint damping per degree of freedom [nv]. */
  readonly dof_damping: Float64Array;
  /** Geom friction coefficients (sliding, torsional, rolling) [ngeom·3]. */
  readonly geom_friction: Float64Array;
}

const RAND_PARAM_FIELDS = ['body_mass', 'body_inertia', 'dof_damping', 'geom_friction'] as const;

/** The model's parameters before any task was applied, per simulator. */
const nominalParams = new WeakMap<MjSim, RandParamsTask>();

/** Base of the RandParams tasks: each task scales the model's physical parameters. */
abstract class RandParamsEnv extends MujocoEnv<RandParamsTask> {
  /** The task distribution's limit: multipliers 1.5^u (1.3^u for damping), u ~ U(−limit, limit). */
  readonly logScaleLimit: number;
  /** The current task's parameters (the nominal ones until setTask). */
  protected params: RandParamsTask;
  /** The x position before the current step. */
  protected x0 = 0;

  constructor(mj: MujocoModule, config: MujocoTaskConfig, opts: RandParamsOptions) {
    super(mj, config, opts.horizon);
    const lim = opts.logScaleLimit ?? 3;
    if (!(lim >= 0) || !Number.isFinite(lim)) throw new EnvError(this.name, `logScaleLimit must be a finite non-negative number, got ${lim}`);
    this.logScaleLimit = lim;
    let nominal = nominalParams.get(this.sim);
    if (!nominal) {
      const sim = this.sim;
      nominal = Object.freeze({
        body_mass: Float64Array.from(sim.bodyMass),
        body_inertia: Float64Array.from(sim.bodyInertia),
        dof_damping: Float64Array.from(sim.dofDamping),
        geom_friction: Float64Array.from(sim.geomFriction),
      });
      nominalParams.set(this.sim, nominal);
    }
    this.params = nominal;
  }

  /** The unscaled parameters of the model (what the task multipliers apply to). */
  get nominal(): RandParamsTask {
    return nominalParams.get(this.sim)!;
  }

  /**
   * Per task and element: body_mass, body_inertia and geom_friction times 1.5^u, dof_damping times
   * 1.3^u, u ~ U(−limit, limit) independently, drawn field by field in that order (the reference's).
   */
  sampleTasks(n: number, rng: Rng): RandParamsTask[] {
    this.checkN(n);
    const nom = this.nominal;
    const lim = this.logScaleLimit;
    const scale = (x: Float64Array, base: number): Float64Array => x.map((v) => v * base ** rng.uniformIn(-lim, lim));
    return Array.from({ length: n }, () => ({
      body_mass: scale(nom.body_mass, 1.5),
      body_inertia: scale(nom.body_inertia, 1.5),
      dof_damping: scale(nom.dof_damping, 1.3),
      geom_friction: scale(nom.geom_friction, 1.5),
    }));
  }

  /**
   * Makes `task`'s parameters current (written into the shared model before this env steps); throws an
   * EnvError unless each field is a Float64Array of the model's length with finite, non-negative entries.
   */
  setTask(task: RandParamsTask): void {
    if (task === null || typeof task !== 'object') throw new EnvError(this.name, 'a task is { body_mass, body_inertia, dof_damping, geom_friction }');
    const nom = this.nominal;
    for (const k of RAND_PARAM_FIELDS) {
      const v = task[k] as unknown;
      if (!(v instanceof Float64Array)) throw new EnvError(this.name, `task.${k} must be a Float64Array`);
      if (v.length !== nom[k].length) throw new EnvError(this.name, `task.${k} has ${v.length} entries, the model has ${nom[k].length}`);
      for (let i = 0; i < v.length; i++)
        if (!(v[i]! >= 0) || !Number.isFinite(v[i]!)) throw new EnvError(this.name, `task.${k}[${i}] must be finite and non-negative, got ${v[i]}`);
    }
    this.params = task;
  }

  /** The current task's parameters. */
  getTask(): RandParamsTask {
    return this.params;
  }

  /** Writes this env's parameters into the shared model unless they are there already. */
  protected override applyParams(): void {
    const sim = this.sim;
    if (sim.paramsOwner === this.params) return;
    sim.bodyMass.set(this.params.body_mass);
    sim.bodyInertia.set(this.params.body_inertia);
    sim.dofDamping.set(this.params.dof_damping);
    sim.geomFriction.set(this.params.geom_friction);
    sim.paramsOwner = this.params;
  }

  protected resetNoise(rng: Rng, qpos: Float64Array, qvel: Float64Array): void {
    uniformNoise(rng, qpos, 0.005);
    uniformNoise(rng, qvel, 0.005);
  }
  protected writeObs(out: Float64Array): void {
    writeQ(this.sim, out, 1, 10);
  }
  protected beforeStep(): void {
    this.x0 = this.sim.qpos[0]!;
  }
  /** r = Δx/dt + 1 − 1e-3·‖a‖² (both RandParams tasks). */
  protected runReward(a: Float64Array): {
    /** The reward r. */
    reward: number;
    /** Its terms: reward_run, reward_ctrl, reward_alive. */
    info: Record<string, number>;
  } {
    const run = (this.sim.qpos[0]! - this.x0) / this.dt;
    const ctrl = -1e-3 * sumSquares(a);
    return { reward: run + 1 + ctrl, info: { reward_run: run, reward_ctrl: ctrl, reward_alive: 1 } };
  }
}

const HOPPER: MujocoTaskConfig = {
  name: 'hopper-rand-params', modelKey: 'hopper_rand_params', xml: HOPPER_XML, frameSkip: 4, horizon: 200, obsDim: 11,
  infoKeys: WALKER_INFO, needsContactForces: false,
};

/**
 * HopperRandParamsEnv: r = Δx/dt + 1 − 1e-3·‖a‖²; done unless the state is finite, |s[2:]| < 100,
 * height > 0.7 and |angle| < 0.2 (s = [qpos, qvel]); frame skip 4 at timestep 0.004 (dt 0.016);
 * obs = [qpos[1:], clip(qvel, ±10)] (11).
 */
export class HopperRandParamsEnv extends RandParamsEnv {
  constructor(mj: MujocoModule, opts: RandParamsOptions = {}) {
    super(mj, HOPPER, opts);
  }
  protected computeStep(a: Float64Array): StepOutcome {
    const { reward, info } = this.runReward(a);
    const { qpos, qvel } = this.sim;
    let ok = qpos[1]! > 0.7 && Math.abs(qpos[2]!) < 0.2;
    for (let i = 2; ok && i < qpos.length; i++) ok = Math.abs(qpos[i]!) < 100;
    for (let i = 0; ok && i < qvel.length; i++) ok = Math.abs(qvel[i]!) < 100;
    return { reward, done: !ok, info };
  }
  clone(): HopperRandParamsEnv {
    const e = new HopperRandParamsEnv(this.mj, { horizon: this.horizon, logScaleLimit: this.logScaleLimit });
    e.params = this.params;
    return e;
  }
}

const WALKER_RAND_PARAMS: MujocoTaskConfig = {
  name: 'walker2d-rand-params', modelKey: 'walker2d_rand_params', xml: walker2dXml(0.004), frameSkip: 5, horizon: 200, obsDim: 17,
  infoKeys: WALKER_INFO, needsContactForces: false,
};

/**
 * Walker2DRandParamsEnv: r = Δx/dt + 1 − 1e-3·‖a‖²; done unless 0.8 < h < 2 and |angle| < 1; frame
 * skip 5 at timestep 0.004 (dt 0.02); obs = [qpos[1:], clip(qvel, ±10)] (17).
 */
export class Walker2DRandParamsEnv extends RandParamsEnv {
  constructor(mj: MujocoModule, opts: RandParamsOptions = {}) {
    super(mj, WALKER_RAND_PARAMS, opts);
  }
  protected computeStep(a: Float64Array): StepOutcome {
    const { reward, info } = this.runReward(a);
    return { reward, done: walkerDone(this.sim), info };
  }
  clone(): Walker2DRandParamsEnv {
    const e = new Walker2DRandParamsEnv(this.mj, { horizon: this.horizon, logScaleLimit: this.logScaleLimit });
    e.params = this.params;
    return e;
  }
}
