/**
 * Loading MuJoCo (the official WebAssembly build, npm mujoco-js) and the simulator object the MuJoCo
 * envs share: one compiled model and one mjData per model, with typed-array views into wasm memory.
 *
 * Many envs (one per (task, rollout) in the sampler) share one `MjSim`: each env keeps its own
 * integration state (time, qpos, qvel, act, qacc_warmstart) and task parameters in JS arrays and
 * loads them into the shared mjData before stepping. mj_step is a function of exactly that state, so
 * a trajectory does not depend on which other envs share the simulator (the parallel sampler's
 * bit-for-bit equality test checks this). One mjData costs ~14 MB of wasm memory, so one per env would
 * not fit 800 envs.
 */
import type { MainModule, MjData, MjModel } from 'mujoco-js';

/** The loaded MuJoCo module (mujoco-js's MainModule). */
export type MujocoModule = MainModule;

let loaded: MujocoModule | null = null;
let loading: Promise<MujocoModule> | null = null;

/** Loads the MuJoCo WebAssembly module once per thread (≈0.5 s); later calls return the same module. */
export function loadMujoco(): Promise<MujocoModule> {
  if (loaded) return Promise.resolve(loaded);
  if (!loading) {
    loading = import('mujoco-js')
      .then((m) => m.default())
      .then((mod) => {
        loaded = mod;
        return mod;
      })
      .catch((e: unknown) => {
        loading = null;
        throw new Error(`MuJoCo (mujoco-js) failed to load: ${e instanceof Error ? e.message : String(e)}`);
      });
  }
  return loading;
}

/** The MuJoCo module if `loadMujoco()` has finished in this thread, else null. */
export function mujocoIfLoaded(): MujocoModule | null {
  return loaded;
}

/** mjtDisableBit values used here (MuJoCo 3.x). */
const mjDSBL_AUTORESET = 1 << 16;

/** MuJoCo's mjMAXVAL: larger |qpos|, |qvel| count as diverged (as mj_checkPos/mj_checkVel do). */
export const MJ_MAXVAL = 1e10;

/** Names of mjtWarning in index order. */
const WARNING_NAMES = ['INERTIA', 'CONTACTFULL', 'CNSTRFULL', 'VGEOMFULL', 'BADQPOS', 'BADQVEL', 'BADQACC', 'BADCTRL'] as const;

/** A Float64Array view of an mjModel/mjData field (mujoco-js returns a fresh view per property read). */
type F64 = Float64Array;

/**
 * One compiled model and its mjData, with cached views into wasm memory. Views are re-read after the
 * wasm memory grows (which detaches the old ones); `ensureViews()` is called before every use.
 */
export class MjSim {
  readonly mj: MujocoModule;
  readonly model: MjModel;
  readonly data: MjData;
  readonly key: string;
  readonly nq: number;
  readonly nv: number;
  readonly nu: number;
  readonly na: number;
  readonly nbody: number;
  readonly ngeom: number;
  /** The model's integration timestep (option timestep). */
  readonly timestep: number;
  /** Whose integration state is in `data` now (an env), or null. */
  owner: object | null = null;
  /** Whose model parameters (RandParams) are in `model` now, or null for the nominal ones. */
  paramsOwner: object | null = null;
  private deleted = false;
  // views (see ensureViews)
  qpos!: F64;
  qvel!: F64;
  act!: F64;
  qaccWarmstart!: F64;
  ctrl!: F64;
  xpos!: F64;
  xipos!: F64;
  cfrcExt!: F64;
  cinert!: F64;
  cvel!: F64;
  qfrcActuator!: F64;
  qpos0!: F64;
  bodyMass!: F64;
  bodyInertia!: F64;
  dofDamping!: F64;
  geomFriction!: F64;
  actuatorCtrlrange!: F64;
  private warnSeen: number[] = WARNING_NAMES.map(() => 0);

  /** Compiles `xml` (written to MuJoCo's in-memory file system) and allocates its mjData. */
  constructor(mj: MujocoModule, key: string, xml: string) {
    this.mj = mj;
    this.key = key;
    const dir = '/metagrad';
    try {
      mj.FS.mkdir(dir);
    } catch {
      // exists already
    }
    const path = `${dir}/${key}.xml`;
    mj.FS.writeFile(path, xml);
    let model: MjModel;
    try {
      model = mj.MjModel.loadFromXML(path);
    } catch (e) {
      throw new Error(`MuJoCo could not compile the model '${key}': ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!model) throw new Error(`MuJoCo could not compile the model '${key}'`);
    this.model = model;
    this.data = new mj.MjData(model);
    const opt = model.opt;
    // Divergence is detected and reported by the env (it ends the episode); MuJoCo's silent reset of
    // the state to qpos0 would hide it.
    opt.disableflags = opt.disableflags | mjDSBL_AUTORESET;
    this.timestep = opt.timestep;
    opt.delete();
    this.nq = model.nq;
    this.nv = model.nv;
    this.nu = model.nu;
    this.na = model.na;
    this.nbody = model.nbody;
    this.ngeom = model.ngeom;
    this.readViews();
  }

  private readViews(): void {
    const m = this.model as unknown as Record<string, F64>;
    const d = this.data as unknown as Record<string, F64>;
    this.qpos = d.qpos!;
    this.qvel = d.qvel!;
    this.act = d.act!;
    this.qaccWarmstart = d.qacc_warmstart!;
    this.ctrl = d.ctrl!;
    this.xpos = d.xpos!;
    this.xipos = d.xipos!;
    this.cfrcExt = d.cfrc_ext!;
    this.cinert = d.cinert!;
    this.cvel = d.cvel!;
    this.qfrcActuator = d.qfrc_actuator!;
    this.qpos0 = m.qpos0!;
    this.bodyMass = m.body_mass!;
    this.bodyInertia = m.body_inertia!;
    this.dofDamping = m.dof_damping!;
    this.geomFriction = m.geom_friction!;
    this.actuatorCtrlrange = m.actuator_ctrlrange!;
  }

  /** Re-reads the views if wasm memory grew since (a detached view has length 0). */
  ensureViews(): void {
    if (this.deleted) throw new Error(`MuJoCo model '${this.key}' was released (releaseMujocoSims); create the env again`);
    if (this.qpos.length === 0 && this.nq > 0) this.readViews();
  }

  /** The simulation time of `data`. */
  get time(): number {
    return this.data.time;
  }
  set time(t: number) {
    this.data.time = t;
  }

  /** mj_step once. */
  step(): void {
    this.mj.mj_step(this.model, this.data);
  }

  /** mj_forward: all derived quantities (positions, velocities, forces) at the current state. */
  forward(): void {
    this.mj.mj_forward(this.model, this.data);
  }

  /** mj_rnePostConstraint: fills cfrc_ext/cfrc_int/cacc (MuJoCo ≥ 2 computes them only on request). */
  rnePostConstraint(): void {
    this.mj.mj_rnePostConstraint(this.model, this.data);
  }

  /** mj_resetData: the model's default state (qpos0, zero velocities, zero warmstart, time 0). */
  resetData(): void {
    this.mj.mj_resetData(this.model, this.data);
    this.owner = null;
  }

  /** Names of MuJoCo warnings raised since the last call (e.g. ['BADQACC']). */
  newWarnings(): string[] {
    const out: string[] = [];
    const vec = this.data.warning as unknown as { get(i: number): { number: number; delete(): void } | undefined; delete(): void };
    for (let i = 0; i < WARNING_NAMES.length; i++) {
      const w = vec.get(i);
      if (!w) continue;
      const n = w.number;
      w.delete();
      if (n > this.warnSeen[i]!) out.push(WARNING_NAMES[i]!);
      this.warnSeen[i] = n;
    }
    vec.delete();
    return out;
  }

  /** Frees the model and data (the sim is unusable afterwards). */
  delete(): void {
    if (this.deleted) return;
    this.deleted = true;
    this.data.delete();
    this.model.delete();
  }

  get isDeleted(): boolean {
    return this.deleted;
  }
}

const sims = new Map<string, MjSim>();

/** The shared simulator for a model key in this thread, compiled on first use. */
export function getSim(mj: MujocoModule, key: string, xml: string): MjSim {
  let sim = sims.get(key);
  if (!sim || sim.isDeleted) {
    sim = new MjSim(mj, key, xml);
    sims.set(key, sim);
  }
  return sim;
}

/** Frees every shared simulator of this thread (envs made before then stop working). */
export function releaseMujocoSims(): void {
  for (const sim of sims.values()) sim.delete();
  sims.clear();
}
