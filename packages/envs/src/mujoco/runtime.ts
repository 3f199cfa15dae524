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
/**
 * The part of mujoco-js's compiled mjModel used here. Typed locally, not imported from mujoco-js: its
 * generated declarations (0.0.7) do not compile under `skipLibCheck: false`, and a public type that
 * imports them would break every strict consumer of this package.
 */
export interface MjModel {
  /** Generalized coordinates (the length of qpos). */
  readonly nq: number;
  /** Degrees of freedom. */
  readonly nv: number;
  /** Actuators. */
  readonly nu: number;
  /** Actuator activation states. */
  readonly na: number;
  /** Bodies (world included). */
  readonly nbody: number;
  /** Geoms. */
  readonly ngeom: number;
  /** A fresh handle on the model's options (delete it after use). */
  readonly opt: {
    /** mjtDisableBit flags. */
    disableflags: number;
    /** The integration timestep in seconds. */
    timestep: number;
    /** Frees the handle. */
    delete(): void;
  };
  /** Frees the model. */
  delete(): void;
}

/** The part of mujoco-js's mjData used here (typed locally, see MjModel). */
export interface MjData {
  /** Simulation time. */
  time: number;
  /** The warning counters (an embind vector). */
  readonly warning: unknown;
  /** Frees the data. */
  delete(): void;
}

/** The loaded MuJoCo module, as far as this package uses it (mujoco-js's MainModule; typed locally, see MjModel). */
export interface MujocoModule {
  /** Emscripten's in-memory file system, where model XML is written before compiling. */
  readonly FS: {
    /** Creates a folder (throws when it exists). */
    mkdir(path: string): void;
    /** Writes a text file. */
    writeFile(path: string, data: string): void;
  };
  /** mjModel's static side. */
  readonly MjModel: {
    /** Compiles the MJCF model file at `path`. */
    loadFromXML(path: string): MjModel;
  };
  /** mjData's constructor. */
  readonly MjData: {
    /** Allocates the mjData of `model`. */
    new (model: MjModel): MjData;
  };
  /** One integration step. */
  mj_step(m: MjModel, d: MjData): void;
  /** Derived quantities at the current state. */
  mj_forward(m: MjModel, d: MjData): void;
  /** cfrc_ext, cfrc_int and cacc. */
  mj_rnePostConstraint(m: MjModel, d: MjData): void;
  /** The model's default state. */
  mj_resetData(m: MjModel, d: MjData): void;
}

let loaded: MujocoModule | null = null;
let loading: Promise<MujocoModule> | null = null;

/** MuJoCo's own messages (warnings such as "Linesearch objective is not convex") since the last drain. */
export interface SimMessages {
  /** How many non-blank lines MuJoCo printed. */
  count: number;
  /** The first of them, or null. */
  first: string | null;
}

let captured: SimMessages = { count: 0, first: null };

/** What MuJoCo printed (stdout or stderr) in this thread: captured, never written to the process's streams. */
function capture(text: string): void {
  const line = String(text).trim();
  if (line === '') return; // MuJoCo prints a blank line after each warning
  captured.count += 1;
  captured.first ??= line;
}

/** The MuJoCo messages captured in this thread since the last call, and resets the count. */
export function drainSimMessages(): SimMessages {
  const out = captured;
  captured = { count: 0, first: null };
  return out;
}

/** Loads the MuJoCo WebAssembly module once per thread (≈0.5 s); later calls return the same module. */
export function loadMujoco(): Promise<MujocoModule> {
  if (loaded) return Promise.resolve(loaded);
  if (!loading) {
    loading = import('mujoco-js')
      .then((m) => (m.default as (opts: { print: (s: string) => void; printErr: (s: string) => void }) => Promise<unknown>)({ print: capture, printErr: capture }))
      .then((raw) => {
        const mod = raw as unknown as MujocoModule;
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

/** A Float64Array view of an mjModel/mjData field (mujoco-js returns a fresh view per property read). @inline */
type F64 = Float64Array;

/**
 * One compiled model and its mjData, with cached views into wasm memory. Views are re-read after the
 * wasm memory grows (which detaches the old ones); `ensureViews()` is called before every use.
 */
export class MjSim {
  /** The MuJoCo module the model was compiled with. */
  readonly mj: MujocoModule;
  /** The compiled mjModel. */
  readonly model: MjModel;
  /** Its mjData, shared by every env on this simulator. */
  readonly data: MjData;
  /** The model key (one simulator per key and thread). */
  readonly key: string;
  /** Number of generalized coordinates (length of qpos). */
  readonly nq: number;
  /** Number of degrees of freedom (length of qvel). */
  readonly nv: number;
  /** Number of actuators (length of ctrl: the action dimension). */
  readonly nu: number;
  /** Number of actuator activation states (length of act). */
  readonly na: number;
  /** Number of bodies, world body included. */
  readonly nbody: number;
  /** Number of geoms. */
  readonly ngeom: number;
  /** The model's integration timestep (option timestep). */
  readonly timestep: number;
  /** Whose integration state is in `data` now (an env), or null. */
  owner: object | null = null;
  /** Whose model parameters (RandParams) are in `model` now, or null for the nominal ones. */
  paramsOwner: object | null = null;
  private deleted = false;
  // views (see ensureViews)
  /** data.qpos [nq]: generalized positions. */
  qpos!: F64;
  /** data.qvel [nv]: generalized velocities. */
  qvel!: F64;
  /** data.act [na]: actuator activations. */
  act!: F64;
  /** data.qacc_warmstart [nv]: the constraint solver's warm start. */
  qaccWarmstart!: F64;
  /** data.ctrl [nu]: the controls applied by mj_step. */
  ctrl!: F64;
  /** data.xpos [nbody·3]: body frame positions. */
  xpos!: F64;
  /** data.xipos [nbody·3]: body centers of mass. */
  xipos!: F64;
  /** data.cfrc_ext [nbody·6]: external contact forces (filled by rnePostConstraint). */
  cfrcExt!: F64;
  /** data.cinert [nbody·10]: body inertias in the center-of-mass frame. */
  cinert!: F64;
  /** data.cvel [nbody·6]: body velocities in the center-of-mass frame. */
  cvel!: F64;
  /** data.qfrc_actuator [nv]: actuator forces. */
  qfrcActuator!: F64;
  /** model.qpos0 [nq]: the default positions. */
  qpos0!: F64;
  /** model.body_mass [nbody]. */
  bodyMass!: F64;
  /** model.body_inertia [nbody·3]: diagonal inertias. */
  bodyInertia!: F64;
  /** model.dof_damping [nv]. */
  dofDamping!: F64;
  /** model.geom_friction [ngeom·3]: sliding, torsional, rolling friction. */
  geomFriction!: F64;
  /** model.actuator_ctrlrange [nu·2]: each actuator's control bounds (low, high). */
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
  /** Sets the simulation time of `data`. */
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

  /** Whether `delete()` has freed the model and data. */
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
