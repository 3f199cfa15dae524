/**
 * The packages as a user gets them from npm: `npm pack` each workspace, install the four tarballs into
 * an empty project, and use them there — from plain Node ESM, from TypeScript under --strict, and
 * through the `metagrad` bin. Nothing here imports the repository's sources: only the tarballs count.
 *
 * Needs npm and the npm registry (or a warm npm cache) for the packages' own dependencies (vega,
 * commander, mujoco-js, ...). Every child process runs under a timeout, so an offline machine fails
 * with a message saying so instead of hanging. Installs pass every npm setting that matters here on
 * the command line (and `--ignore-scripts`: nothing the packages pull in needs an install script; the
 * one that has one, gpu.js's optional native `gl`, is not needed for the gpu.js modes tested), so the
 * user's npm config does not change what is tested. METAGRAD_KEEP_TMP=1 keeps the temporary folders.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dirSize } from '../../bench/src/dirsize.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSC = createRequire(join(ROOT, 'package.json')).resolve('typescript/bin/tsc');

interface Manifest {
  name: string;
  version: string;
  main?: string;
  types?: string;
  bin?: Record<string, string>;
  files?: string[];
  exports?: Record<string, string | Record<string, string>>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/** The workspaces in dependency order, with their manifests. */
const PACKAGES = ['autograd', 'envs', 'rl', 'cli'].map((dir) => ({
  dir,
  pkg: JSON.parse(readFileSync(join(ROOT, 'packages', dir, 'package.json'), 'utf8')) as Manifest,
}));
const byName = (name: string): Manifest => PACKAGES.find((p) => p.pkg.name === name)!.pkg;
/** npm's tarball name: `@scope/name` → `scope-name-<version>.tgz`. */
const tarballName = (m: Manifest): string => `${m.name.replace(/^@/, '').replace('/', '-')}-${m.version}.tgz`;
/** Every public entry point, as users import it (read off the exports maps). */
const ENTRY_POINTS = PACKAGES.flatMap(({ pkg }) =>
  Object.keys(pkg.exports ?? {}).filter((k) => k !== './package.json').map((k) => (k === '.' ? pkg.name : `${pkg.name}/${k.slice(2)}`)));

/** npm settings passed explicitly, so the user's npm config does not decide them. */
const NPM_INSTALL_FLAGS = [
  '--no-audit', '--no-fund', '--loglevel=error', '--ignore-scripts', '--install-strategy=hoisted', '--include=optional',
  '--prefer-offline', '--fetch-retries=1', '--fetch-retry-mintimeout=2000', '--fetch-retry-maxtimeout=10000', '--fetch-timeout=60000',
  '--no-update-notifier',
];
const OFFLINE_HINT = 'npm install needs the npm registry (or a warm npm cache) for the dependencies of the packages '
  + '(vega, commander, mujoco-js, ...): is the registry reachable from this machine?';

/** The environment of child processes: without what `npm test` sets for its own script or METAGRAD_* settings. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_UPDATE_NOTIFIER: '1' };
  for (const k of Object.keys(env)) {
    if (/^npm_(package_|lifecycle_|command$|config_local_prefix$)|^INIT_CWD$|^METAGRAD_/.test(k)) delete env[k];
  }
  return env;
}

interface Ran { code: number | null; stdout: string; stderr: string }

/**
 * Runs `cmd args` in `cwd` (stdin closed, so nothing can wait on a prompt) and resolves with its exit
 * code and output. After `timeoutS` seconds its whole process group is killed and it rejects naming
 * the command, the limit and `hint`. It also rejects on a non-zero exit unless `allowFail`.
 */
function run(cmd: string, args: readonly string[], opts: { cwd: string; timeoutS: number; hint?: string; allowFail?: boolean }): Promise<Ran> {
  const shown = `${cmd === process.execPath ? 'node' : cmd} ${args.join(' ')}`.replace(TSC, 'tsc');
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '', stderr = '', timedOut = false;
    child.stdout.on('data', (d: Buffer) => { stdout += d; });
    child.stderr.on('data', (d: Buffer) => { stderr += d; });
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { child.kill('SIGKILL'); }
    }, opts.timeoutS * 1000);
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(e.code === 'ENOENT' ? `\`${cmd}\` was not found on PATH (running: ${shown})` : `${shown}: ${e.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const tail = (s: string): string => s.trim().split('\n').slice(-40).join('\n');
      const out = `\n--- stderr ---\n${tail(stderr)}\n--- stdout ---\n${tail(stdout)}`;
      if (timedOut) reject(new Error(`${shown} (in ${opts.cwd}) did not finish in ${opts.timeoutS} s and was killed.${opts.hint ? ` ${opts.hint}` : ''}${out}`));
      else if (code !== 0 && !opts.allowFail) reject(new Error(`${shown} (in ${opts.cwd}) exited with ${code}.${opts.hint ? ` ${opts.hint}` : ''}${out}`));
      else resolve({ code, stdout, stderr });
    });
  });
}

/** `npm install <specs>` with the fixed flags. */
const npmInstall = (cwd: string, specs: readonly string[]): Promise<Ran> =>
  run('npm', ['install', ...NPM_INSTALL_FLAGS, ...specs], { cwd, timeoutS: 300, hint: OFFLINE_HINT });

/** A fresh empty project `{ name: 'consumer', private: true, type: 'module' }` under `parent`. */
function emptyProject(parent: string, dir: string): string {
  const cwd = join(parent, dir);
  rmSync(cwd, { recursive: true, force: true });
  mkdirSync(cwd, { recursive: true });
  writeFileSync(join(cwd, 'package.json'), `${JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2)}\n`);
  return cwd;
}

/** Every folder named one of `names` anywhere under `dir` (as relative paths). */
function findFolders(dir: string, names: readonly string[]): string[] {
  const found: string[] = [];
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop()!;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const p = join(d, e.name);
      if (names.includes(e.name)) found.push(p.slice(dir.length + 1));
      stack.push(p);
    }
  }
  return found;
}

/** Runs `source` as an .mjs file in `cwd` and returns the JSON it prints on its last line. */
async function runModule<T>(cwd: string, file: string, source: string, timeoutS = 60): Promise<T> {
  writeFileSync(join(cwd, file), source);
  const { stdout } = await run(process.execPath, [file], { cwd, timeoutS });
  const last = stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new Error(`${file} printed no JSON on its last line:\n${stdout}`);
  }
}

/** Chromium's SwiftShader Vulkan driver, which the webgpu check runs on. */
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

let tmp = '';
let packDir = '';
let consumer = '';
const packed = new Map<string, { filename: string; size: number; unpackedSize: number; files: string[] }>();

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'metagrad-packages-'));
  packDir = join(tmp, 'tarballs');
  mkdirSync(packDir);
  // dist/ is what gets packed: build it from the current sources (a no-op when up to date, as after npm ci)
  await run(process.execPath, [TSC, '-b', 'packages/cli'], { cwd: ROOT, timeoutS: 400 });
  for (const { dir, pkg } of PACKAGES) {
    const { stdout } = await run('npm', ['pack', '--pack-destination', packDir, '--json', '--loglevel=error'], {
      cwd: join(ROOT, 'packages', dir), timeoutS: 120,
    });
    let info: { filename: string; size: number; unpackedSize: number; files: { path: string }[] };
    try {
      info = (JSON.parse(stdout) as (typeof info)[])[0]!;
    } catch {
      throw new Error(`npm pack --json in packages/${dir} printed no JSON:\n${stdout}`);
    }
    packed.set(pkg.name, { filename: info.filename, size: info.size, unpackedSize: info.unpackedSize, files: info.files.map((f) => f.path) });
  }
  // the consumer: the four tarballs, and @types/node (a Node project has it; the test program uses Node)
  consumer = emptyProject(tmp, 'consumer');
  // and fast-check, the optional peer the testing entry points (@metagrad/autograd/testing, @metagrad/rl/testing) import
  const devDeps = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies;
  const typesNode = `@types/node@${devDeps['@types/node']}`;
  const fastCheck = `fast-check@${devDeps['fast-check']}`;
  await npmInstall(consumer, [...PACKAGES.map(({ pkg }) => join(packDir, tarballName(pkg))), typesNode, fastCheck]);
}, 900_000);

afterAll(() => {
  if (tmp && !process.env.METAGRAD_KEEP_TMP) rmSync(tmp, { recursive: true, force: true });
});

describe('the packed packages, installed from their tarballs into an empty project', () => {
  it('npm pack: one tarball per package, named after it, holding every file its manifest names', () => {
    // the entry points whose symbols the type-check below names (every entry point of the exports maps
    // is also loaded from Node ESM and namespace-imported under tsc)
    expect(ENTRY_POINTS).toEqual(expect.arrayContaining([
      '@metagrad/autograd', '@metagrad/autograd/gpujs', '@metagrad/autograd/kernels', '@metagrad/envs', '@metagrad/envs/point',
      '@metagrad/envs/tabular', '@metagrad/rl', '@metagrad/rl/estimators', '@metagrad/rl/tabular', 'metagrad',
      '@metagrad/autograd/testing', '@metagrad/rl/testing',
    ]));
    const problems: string[] = [];
    for (const { pkg } of PACKAGES) {
      const p = packed.get(pkg.name)!;
      expect(p.filename, pkg.name).toBe(tarballName(pkg));
      expect(existsSync(join(packDir, p.filename)), p.filename).toBe(true);
      const has = new Set(p.files);
      const targets = [
        'package.json', 'LICENSE', pkg.main, pkg.types, ...Object.values(pkg.bin ?? {}),
        ...Object.values(pkg.exports ?? {}).flatMap((t) => (typeof t === 'string' ? [t] : Object.values(t))),
      ].filter((t): t is string => t !== undefined).map((t) => t.replace(/^\.\//, ''));
      for (const t of targets) if (!has.has(t)) problems.push(`${pkg.name}: ${t} (named in package.json) is not in the tarball`);
      for (const entry of pkg.files ?? []) {
        if (entry.startsWith('!')) continue;
        if (!p.files.some((f) => f === entry || f.startsWith(`${entry}/`))) problems.push(`${pkg.name}: "files" entry ${entry} matches nothing in the tarball`);
      }
      for (const f of p.files) if (/\.tsbuildinfo$|(^|\/)(test|node_modules)\//.test(f)) problems.push(`${pkg.name}: ${f} should not be packed`);
      // dependencies (and peers) on sibling packages accept the version packed next to them: the release's
      // own version or a caret range of it, no workspace:/file: specs
      for (const [dep, spec] of Object.entries({ ...pkg.dependencies, ...pkg.peerDependencies })) {
        const sibling = PACKAGES.find((q) => q.pkg.name === dep);
        if (sibling && spec !== sibling.pkg.version && spec !== `^${sibling.pkg.version}`) problems.push(`${pkg.name}: depends on ${dep}@${spec}, but ${sibling.pkg.version} is packed`);
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('nothing installed needs an install script, and gpu.js, webgpu, bullmq and ioredis (optional peers) are not pulled in', () => {
    const lock = JSON.parse(readFileSync(join(consumer, 'package-lock.json'), 'utf8')) as { packages: Record<string, { hasInstallScript?: boolean }> };
    expect(Object.entries(lock.packages).filter(([, v]) => v.hasInstallScript).map(([k]) => k)).toEqual([]);
    expect(findFolders(join(consumer, 'node_modules'), ['gpu.js', 'webgpu', 'gl', 'bullmq', 'ioredis'])).toEqual([]);
    for (const { pkg } of PACKAGES) {
      const installed = JSON.parse(readFileSync(join(consumer, 'node_modules', pkg.name, 'package.json'), 'utf8')) as Manifest;
      expect(installed.version, pkg.name).toBe(pkg.version);
    }
  });

  it('plain Node ESM: every entry point loads, and an HVP matches the closed form to 1e-12', async () => {
    // f(x) = Σ tanh(x)·x²; ∂²f/∂xᵢ² = 2t + 4x·s − 2t·s·x² with t = tanh x, s = 1 − t², and no cross terms
    const xs = [-1.3, -0.2, 0.4, 0.9, 2.1], vs = [0.5, -1.1, 2.0, 0.3, -0.7];
    const r = await runModule<{
      entries: Record<string, number | string>; dtype: string; shape: number[]; hv: number[]; isTensor: boolean;
      exactIdentity: number; mujoco: { obs: number; reward: number }; worker: { obsDim: number; actDim: number };
    }>(consumer, 'smoke.mjs', `
      const entries = {};
      for (const spec of ${JSON.stringify(ENTRY_POINTS)}) {
        try { entries[spec] = Object.keys(await import(spec)).length; } catch (e) { entries[spec] = String(e.code ?? e.message); }
      }
      const { tensor, hvp, Tensor, Rng } = await import('@metagrad/autograd');
      const f = (x) => x.tanh().mul(x.square()).sum();
      const h = hvp(f, tensor(${JSON.stringify(xs)}), tensor(${JSON.stringify(vs)}));

      const { exactAnalysis, randomTabular } = await import('@metagrad/rl/tabular');
      const { mdp, theta } = randomTabular(0, 2, 2, 3);
      const x = exactAnalysis(mdp, theta);
      const exactIdentity = x.H1.add(x.H2).add(x.H12).add(x.H12.T).sub(x.hessian).abs().max().item();

      const { makeEnv, WorkerSampler } = await import('@metagrad/envs');
      const env = await makeEnv('half-cheetah-fwd-back');   // MuJoCo from the mujoco-js dependency
      env.setTask(env.sampleTasks(1, new Rng(0))[0]);
      const obs = env.reset(new Rng(1));
      const step = env.step(new Float64Array(env.actionSpace.shape[0]));
      const sampler = await WorkerSampler.create({ env: 'point-corner', workers: 1 });   // dist/sampler/worker.js
      const worker = sampler.shape;
      await sampler.close();
      console.log(JSON.stringify({ entries, isTensor: h instanceof Tensor, dtype: h.dtype, shape: h.shape, hv: Array.from(h.toArray()),
        exactIdentity, mujoco: { obs: obs.length, reward: step.reward }, worker }));
    `);
    // without gpu.js (an optional peer) the gpujs entry cannot load; every other entry point exports something
    for (const spec of ENTRY_POINTS) {
      if (spec === '@metagrad/autograd/gpujs') expect(r.entries[spec], spec).toBe('ERR_MODULE_NOT_FOUND');
      else expect(r.entries[spec], spec).toBeGreaterThan(0);
    }
    expect(r.isTensor).toBe(true);
    expect(r.dtype).toBe('float64');
    expect(r.shape).toEqual([xs.length]);
    xs.forEach((x, i) => {
      const t = Math.tanh(x), s = 1 - t * t;
      const want = (2 * t + 4 * x * s - 2 * t * s * x * x) * vs[i]!;
      expect(Math.abs(r.hv[i]! - want), `HVP[${i}]: ${r.hv[i]} vs ${want}`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(want)));
    });
    expect(r.exactIdentity).toBeLessThan(1e-12);
    expect(r.mujoco.obs).toBe(17);
    expect(Number.isFinite(r.mujoco.reward)).toBe(true);
    expect(r.worker).toMatchObject({ obsDim: 2, actDim: 2 });
  });

  it('tsc --strict (no skipLibCheck) type-checks every public entry point, without gpu.js installed', async () => {
    expect(existsSync(join(consumer, 'node_modules', 'gpu.js')), 'gpu.js is not installed yet').toBe(false);
    const allEntries = `
      ${ENTRY_POINTS.map((spec, i) => `import * as entry${i} from '${spec}';`).join('\n      ')}
      import { tensor, zeros, hvp, grad, Tensor, Rng, backendReport, type BackendReport, type DType } from '@metagrad/autograd';
      import { installGpujs, gpujsInfo, type GpuInfo, type InstallGpujsOptions } from '@metagrad/autograd/gpujs';
      import { matmulF64, wasmSimdAvailable, type FloatArray } from '@metagrad/autograd/kernels';
      import { makeEnv, makeEnvSync, envNames, WorkerSampler, type MetaEnv, type EnvName, type StepResult } from '@metagrad/envs';
      import { PointCornerEnv, type PointTask, type BoxSpace } from '@metagrad/envs/point';
      import { TabularMDP, TabularMetaEnv, type TabularMDPSpec } from '@metagrad/envs/tabular';
      import { algoNames, resolveConfig, train, Adam, type AlgoName, type TrainConfig, type Checkpoint } from '@metagrad/rl';
      import { dice, magicBox, GaussianMLPPolicy, type Policy, type GaussianMLPParams } from '@metagrad/rl/estimators';
      import { exactAnalysis, randomTabular, type ExactAnalysis, type TabularSpec } from '@metagrad/rl/tabular';
      import { runCli, RUN_FILES, csvHeader, svgToPng, readRun, type RunMeta, type CliIO } from 'metagrad';

      const t: Tensor = tensor([1, 2]);
      const d: DType = t.dtype;
      const z: Tensor = zeros([2, 2]);
      const hv: Tensor = hvp((x: Tensor) => x.square().sum(), t, t);
      const g: { w: Tensor } = grad((p: { w: Tensor }) => p.w.tanh().sum())({ w: t });
      const r: BackendReport = backendReport();
      const info: GpuInfo = gpujsInfo();
      const opts: InstallGpujsOptions = { mode: 'cpu' };
      const install: (o?: InstallGpujsOptions) => BackendReport = installGpujs;
      const out: FloatArray = new Float64Array(4);
      matmulF64(new Float64Array(4), new Float64Array(4), new Float64Array(4), 2, 2, 2, false, true);
      const simd: boolean = wasmSimdAvailable();
      const name: EnvName = envNames[0];
      const env: MetaEnv<PointTask> = makeEnvSync('point-corner');
      const mj: Promise<MetaEnv> = makeEnv('half-cheetah-fwd-back');
      const step: StepResult = env.step([0, 0]);
      const pc = new PointCornerEnv();
      const space = pc.actionSpace as BoxSpace;
      const spec: TabularMDPSpec = new TabularMDP({ S: 1, A: 1, H: 1, init: [1], P: [[[1]]], R: [[0]] });
      const tab = new TabularMetaEnv();
      const algo: AlgoName = algoNames[0]!;
      const config: TrainConfig = resolveConfig({ algo: 'promp', env: 'point-corner' });
      const trainFn: typeof train = train;
      const adam: typeof Adam = Adam;
      const box: Tensor = magicBox(t);
      const policy: Policy<GaussianMLPParams> = new GaussianMLPPolicy({ obsDim: 2, actDim: 2, hidden: [4] });
      const { mdp, theta }: { mdp: TabularSpec; theta: Tensor } = randomTabular(0, 2, 2, 2);
      const x: ExactAnalysis = exactAnalysis(mdp, theta);
      const h: Tensor = x.H1.add(x.H2);
      const code: Promise<number> = runCli(['--help']);
      const files: string = RUN_FILES.config + csvHeader(1);
      const png: Uint8Array = svgToPng('<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>');
      let meta: RunMeta | undefined;
      let io: CliIO | undefined;
      let ckpt: Checkpoint | undefined;
      // the declarations are real types, not any
      // @ts-expect-error a Tensor is not a string
      const notString: string = tensor([1]);
      // @ts-expect-error exactAnalysis needs theta
      exactAnalysis(mdp);
      // @ts-expect-error not an algorithm name
      const badAlgo: AlgoName = 'sgd';
      export const entries = [${ENTRY_POINTS.map((_, i) => `entry${i}`).join(', ')}];
      export { d, z, hv, g, r, info, opts, install, out, simd, name, mj, step, space, spec, tab, algo, config, trainFn, adam, box, policy,
        h, code, files, png, meta, io, ckpt, notString, badAlgo, dice, WorkerSampler, Rng };
    `;
    writeFileSync(join(consumer, 'all-entries.ts'), allEntries);
    const tsc = await run(process.execPath, [
      TSC, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--lib', 'es2022',
      '--skipLibCheck', 'false', 'all-entries.ts',
    ], { cwd: consumer, timeoutS: 180, allowFail: true });
    // a Node project without the DOM library, checking every library file: no diagnostic at all (the
    // packages' declarations pull in neither mujoco-js's generated ones nor vega's DOM-typed ones)
    expect(`${tsc.stdout}${tsc.stderr}`.trim()).toBe('');
    expect(tsc.code).toBe(0);

    // the browser-safe entry points check with neither Node's types nor the DOM's
    writeFileSync(join(consumer, 'browser-safe.ts'), `
      import { tensor, hvp, Tensor } from '@metagrad/autograd';
      import { gpujsInfo, type GpuInfo } from '@metagrad/autograd/gpujs';
      import { matmulF32 } from '@metagrad/autograd/kernels';
      import { PointGoalEnv, type MetaEnv } from '@metagrad/envs/point';
      import { TabularMetaEnv } from '@metagrad/envs/tabular';
      import { lvc, DiagGaussian } from '@metagrad/rl/estimators';
      import { exactAnalysis, randomTabular, type ExactAnalysis } from '@metagrad/rl/tabular';
      const t: Tensor = hvp((x: Tensor) => x.square().sum(), tensor([1]), tensor([1]));
      const info: GpuInfo = gpujsInfo();
      const env: MetaEnv = new PointGoalEnv();
      const { mdp, theta } = randomTabular(0, 2, 2, 2);
      const x: ExactAnalysis = exactAnalysis(mdp, theta);
      export { t, info, env, x, matmulF32, TabularMetaEnv, lvc, DiagGaussian };
    `);
    writeFileSync(join(consumer, 'tsconfig.browser.json'), JSON.stringify({
      compilerOptions: {
        noEmit: true, strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022'], types: [],
        skipLibCheck: false, listFiles: true,
      },
      files: ['browser-safe.ts'],
    }));
    const browser = await run(process.execPath, [TSC, '-p', 'tsconfig.browser.json'], { cwd: consumer, timeoutS: 180, allowFail: true });
    expect(browser.code, browser.stdout).toBe(0);
    expect(browser.stdout).not.toMatch(/@types\/node|mujoco-js/);
  }, 300_000);

  it('npx metagrad: --help, --version and a one-iteration ProMP run with its run directory', async () => {
    const help = await run('npx', ['--no', '--', 'metagrad', '--help'], { cwd: consumer, timeoutS: 60 });
    expect(help.stdout).toContain('train');
    const version = await run('npx', ['--no', '--', 'metagrad', '--version'], { cwd: consumer, timeoutS: 60 });
    expect(version.stdout.trim()).toBe(byName('metagrad').version);
    // the sweep commands' packages are optional peers, not installed here: one line saying what to install
    const sweep = await run('npx', ['--no', '--', 'metagrad', 'worker', '--queue', 'redis://127.0.0.1:1'], { cwd: consumer, timeoutS: 60, allowFail: true });
    expect(sweep.code).toBe(2);
    expect(sweep.stderr).toContain('sweeps need the optional packages bullmq and ioredis, which are not installed: npm install bullmq@^6.7.0 ioredis@^5.11.1');

    const out = join(consumer, 'runs', 'promp');
    await run('npx', ['--no', '--', 'metagrad', 'train', '--algo', 'promp', '--env', 'point-corner', '--iterations', '1', '--meta-batch-size', '2',
      '--rollouts-per-task', '2', '--horizon', '10', '--hidden', '8', '--out', out, '-q'], { cwd: consumer, timeoutS: 120 });
    for (const f of ['config.json', 'log.jsonl', 'log.csv', 'checkpoint.json']) expect(existsSync(join(out, f)), f).toBe(true);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { algo: string; meta: { versions: Record<string, string>; commit: string | null } };
    expect(config.algo).toBe('promp');
    expect(config.meta.versions).toEqual(Object.fromEntries(['metagrad', '@metagrad/autograd', '@metagrad/envs', '@metagrad/rl'].map((n) => [n, byName(n).version])));
    expect(config.meta.versions.metagrad).toBe('0.2.0');
    expect(config.meta.commit).toBeNull();   // installed from a tarball: no git checkout to name
    expect(readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
    expect(readFileSync(join(out, 'log.csv'), 'utf8').trim().split('\n')).toHaveLength(2);
    expect(JSON.parse(readFileSync(join(out, 'checkpoint.json'), 'utf8'))).toBeTypeOf('object');

    // learning curves go through vega, vega-lite and resvg, all from the registry
    await run('npx', ['--no', '--', 'metagrad', 'plot', out], { cwd: consumer, timeoutS: 120 });
    expect(readFileSync(join(out, 'learning-curves.svg'), 'utf8')).toContain('<svg');
    expect(readFileSync(join(out, 'learning-curves.png')).subarray(1, 4).toString()).toBe('PNG');
  }, 300_000);

  it('@metagrad/autograd alone: at most 5 MB of node_modules, no gpu.js, webgpu or gl', async () => {
    const alone = emptyProject(tmp, 'autograd-alone');
    await npmInstall(alone, [join(packDir, tarballName(byName('@metagrad/autograd')))]);
    const nm = join(alone, 'node_modules');
    expect(readdirSync(nm).filter((n) => !n.startsWith('.'))).toEqual(['@metagrad']);
    expect(findFolders(nm, ['gpu.js', 'webgpu', 'gl'])).toEqual([]);
    const { bytes } = dirSize(nm);
    expect(bytes, `node_modules holds ${(bytes / 1e6).toFixed(2)} MB`).toBeLessThanOrEqual(5e6);
    const r = await runModule<{ x: number; gpujs: string; testing: string }>(alone, 'use.mjs', `
      import { tensor, grad } from '@metagrad/autograd';
      const x = grad((t) => t.pow(3).sum())(tensor([2])).item();
      const gpujs = await import('@metagrad/autograd/gpujs').then(() => 'loaded', (e) => String(e.message));
      const testing = await import('@metagrad/autograd/testing').then(() => 'loaded', (e) => String(e.message));
      console.log(JSON.stringify({ x, gpujs, testing }));
    `);
    expect(r.x).toBe(12);
    expect(r.gpujs).toContain("Cannot find package 'gpu.js'");
    expect(r.testing).toContain("Cannot find package 'fast-check'");
  }, 300_000);

  it('with gpu.js installed too: installGpujs() runs float32 matmuls and their gradients in gpu.js modes cpu and webasm', async () => {
    const gpujs = `gpu.js@${byName('@metagrad/autograd').peerDependencies!['gpu.js']}`;
    await npmInstall(consumer, [gpujs]);
    const r = await runModule<Record<string, { mode: string; isGpu: boolean; float32: string; product: number[]; gradErr: number }>>(consumer, 'gpujs.mjs', `
      import { tensor, grad, setBackend, backendReport, Rng, randn } from '@metagrad/autograd';
      import { installGpujs, gpujsInfo } from '@metagrad/autograd/gpujs';
      const rng = new Rng(3);
      const a = randn([5, 7], rng).astype('float32'), b = randn([7, 3], rng).astype('float32');
      const f = (p) => p.a.matmul(p.b).tanh().sum();
      setBackend('cpu');
      const ref = grad(f)({ a, b });
      const out = {};
      for (const mode of ['cpu', 'webasm']) {
        installGpujs({ mode });
        setBackend('gpujs');
        const info = gpujsInfo();
        const product = Array.from(tensor([[1, 2, 3], [4, 5, 6]], undefined, { dtype: 'float32' })
          .matmul(tensor([[1, 0], [0, 1], [1, 1]], undefined, { dtype: 'float32' })).toArray());
        const g = grad(f)({ a, b });
        const gradErr = Math.max(g.a.sub(ref.a).abs().max().item(), g.b.sub(ref.b).abs().max().item());
        out[mode] = { mode: info.mode, isGpu: info.isGpu, float32: backendReport().float32, product, gradErr };
        setBackend('cpu');
      }
      console.log(JSON.stringify(out));
    `, 120);
    for (const mode of ['cpu', 'webasm']) {
      expect(r[mode]!.mode, mode).toBe(mode);
      expect(r[mode]!.isGpu, mode).toBe(false);
      expect(r[mode]!.float32, mode).toContain(`gpujs in mode ${mode}`);
      expect(r[mode]!.product, mode).toEqual([4, 5, 10, 11]);
      expect(r[mode]!.gradErr, mode).toBeLessThan(1e-4);
    }
  }, 300_000);

  it.runIf(existsSync(SWIFTSHADER_ICD))("webgpu: when the webgpu package does not load, the mode says so with the loader's error; with webgpu@0.3.10 it runs (SwiftShader)", async () => {
    const script = `
      process.env.METAGRAD_VULKAN_ICD = 'swiftshader';
      import('@metagrad/autograd/gpujs').then(({ setGpujsMode, matmulGpujs, gpujsInfo }) => {
        let error = null, product = null;
        try {
          setGpujsMode('webgpu');
          const out = new Float32Array(4);
          matmulGpujs(new Float32Array([1, 2, 3, 4, 5, 6]), new Float32Array([1, 0, 0, 1, 1, 1]), out, 1, 2, 3, 2, false, false);
          product = Array.from(out);
        } catch (e) {
          error = e.message;
        }
        console.log(JSON.stringify({ error, product, reason: gpujsInfo().reason }));
      });
    `;
    type Out = { error: string | null; product: number[] | null; reason: string };
    if (!existsSync(join(consumer, 'node_modules', 'gpu.js'))) await npmInstall(consumer, [`gpu.js@${byName('@metagrad/autograd').peerDependencies!['gpu.js']}`]);
    // gpu.js depends on webgpu@0.2.9, which npm hoists where the engine finds it; it needs a newer libstdc++ than Debian 12's
    const hoistedPkg = join(consumer, 'node_modules', 'webgpu', 'package.json');
    const hoisted = existsSync(hoistedPkg) ? (JSON.parse(readFileSync(hoistedPkg, 'utf8')) as { version: string }).version : null;
    const before = await runModule<Out>(consumer, 'webgpu-before.mjs', script, 120);
    if (hoisted === null) expect(before.error).toMatch(/webgpu: the optional package webgpu \(Dawn for Node\) is not installed: npm install webgpu@0\.3\.10/);
    else if (hoisted.startsWith('0.2.')) expect(before.error).toMatch(/^gpu\.js mode "webgpu" is not available: webgpu: the webgpu package did not load \(.+\)$/);
    // a webgpu package whose native build does not load (as gpu.js's own 0.2.9 on Debian 12's libstdc++; npm refuses
    // to install that one next to the engine's peer range): the mode names the loader's own error
    const broken = join(consumer, 'node_modules', 'webgpu');
    mkdirSync(broken, { recursive: true });
    writeFileSync(join(broken, 'package.json'), JSON.stringify({ name: 'webgpu', version: '0.0.0-broken', type: 'module', main: 'index.js' }));
    writeFileSync(join(broken, 'index.js'), "throw new Error('/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32\\' not found (required by dawn.node)');\n");
    const old = await runModule<Out>(consumer, 'webgpu-old.mjs', script, 120);
    expect(old.error).toBe("gpu.js mode \"webgpu\" is not available: webgpu: the webgpu package did not load (/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found (required by dawn.node))");
    rmSync(broken, { recursive: true, force: true });
    await npmInstall(consumer, ['webgpu@0.3.10']);
    const after = await runModule<Out>(consumer, 'webgpu-after.mjs', script, 120);
    expect(after.error).toBeNull();
    expect(after.product).toEqual([4, 5, 10, 11]);
    expect(after.reason).toMatch(/^webgpu \(SwiftShader, software\)/);
    console.log(`webgpu ${hoisted ?? 'not installed'}: ${before.error ?? 'loaded'}\na webgpu that does not load: ${old.error}\nwebgpu@0.3.10: ${after.reason.split(';')[0]}`);
  }, 300_000);
});
