/**
 * Install sizes: what `npm install` of each package puts in an empty project's node_modules. The four
 * workspaces are packed with `npm pack` (dist/ must be built); each case installs the tarballs it needs
 * (a package together with the sibling tarballs it depends on, as npm would fetch them once published)
 * plus any registry packages, into a fresh project `{ "name": "consumer", "private": true, "type": "module" }`,
 * and measures node_modules: bytes (the sum of its files' sizes, like `du -sb` without folders), files
 * and installed packages.
 *
 *   npx tsc -b && node bench/dist/install-sizes.js      # about a minute on a warm npm cache
 *
 * Installs run as a user's would: install scripts on (`--ignore-scripts=false`), so gpu.js's optional
 * native `gl` is built where the machine can build it and dropped where its build fails (column gl);
 * the last case keeps it unbuilt (`--ignore-scripts`) to show what it adds. Other npm settings that
 * change node_modules are passed explicitly (hoisted layout, optional dependencies included).
 *
 * Writes bench/results/install-sizes.json: one flat row per tarball (suite 'tarballs') and per install
 * (suite 'install-sizes').
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dirSize } from './dirsize.js';
import { type BenchResult, machine, sig, writeResults } from './results.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DATE = new Date().toISOString();
const MACHINE = machine();

interface Manifest { name: string; version: string; peerDependencies?: Record<string, string> }
const DIRS = ['autograd', 'envs', 'rl', 'cli'] as const;
type Dir = (typeof DIRS)[number];
const manifest = (dir: Dir): Manifest => JSON.parse(readFileSync(join(ROOT, 'packages', dir, 'package.json'), 'utf8')) as Manifest;

/** One install: the workspaces whose tarballs go in, registry specs, and whether install scripts run. */
interface Case { key: string; work: string; tarballs: Dir[]; registry: string[]; scripts: boolean }

const gpujs = `gpu.js@${manifest('autograd').peerDependencies?.['gpu.js'] ?? '2.24.1'}`;
/** The Dawn build the repo tests the WebGPU probe with (the root devDependency; the peer range also allows gpu.js's 0.2.9). */
const webgpu = `webgpu@${(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies['webgpu']}`;
const CASES: Case[] = [
  { key: 'a', work: '@metagrad/autograd', tarballs: ['autograd'], registry: [], scripts: true },
  { key: 'b', work: `@metagrad/autograd + ${gpujs}`, tarballs: ['autograd'], registry: [gpujs], scripts: true },
  { key: 'c', work: `@metagrad/autograd + ${gpujs} + ${webgpu}`, tarballs: ['autograd'], registry: [gpujs, webgpu], scripts: true },
  { key: 'd', work: '@metagrad/envs', tarballs: ['autograd', 'envs'], registry: [], scripts: true },
  { key: 'e', work: '@metagrad/rl', tarballs: ['autograd', 'envs', 'rl'], registry: [], scripts: true },
  { key: 'f', work: 'metagrad', tarballs: ['autograd', 'envs', 'rl', 'cli'], registry: [], scripts: true },
  { key: 'g', work: `metagrad + ${gpujs}`, tarballs: ['autograd', 'envs', 'rl', 'cli'], registry: [gpujs], scripts: true },
  { key: 'b*', work: `@metagrad/autograd + ${gpujs}, --ignore-scripts (gl kept, unbuilt)`, tarballs: ['autograd'], registry: [gpujs], scripts: false },
];

const FLAGS = [
  '--no-audit', '--no-fund', '--loglevel=error', '--install-strategy=hoisted', '--include=optional', '--prefer-offline',
  '--fetch-retries=1', '--fetch-timeout=60000', '--no-update-notifier',
];

/** Runs a command; throws with its output on failure or after `timeoutS`. */
function sh(cmd: string, args: readonly string[], cwd: string, timeoutS: number): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutS * 1000, killSignal: 'SIGKILL', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  const shown = `${cmd} ${args.join(' ')} (in ${cwd})`;
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') {
    throw new Error(`${shown} did not finish in ${timeoutS} s: is the npm registry reachable (or the npm cache warm)?`);
  }
  if (r.error) throw new Error(`${shown}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${shown} exited with ${r.status}:\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

/** The top-level packages of node_modules (scoped ones as @scope/name), largest first, with their sizes. */
function largest(nm: string, n: number): { name: string; bytes: number }[] {
  const out: { name: string; bytes: number }[] = [];
  for (const e of readdirSync(nm, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name.startsWith('.')) continue;
    if (e.name.startsWith('@')) {
      for (const s of readdirSync(join(nm, e.name), { withFileTypes: true })) {
        if (s.isDirectory()) out.push({ name: `${e.name}/${s.name}`, bytes: dirSize(join(nm, e.name, s.name)).bytes });
      }
    } else out.push({ name: e.name, bytes: dirSize(join(nm, e.name)).bytes });
  }
  return out.sort((a, b) => b.bytes - a.bytes).slice(0, n);
}

/** Whether gpu.js's optional native `gl` is in node_modules, and built. */
function glState(nm: string): string {
  const gl = join(nm, 'gl');
  if (!existsSync(gl)) return 'absent';
  const release = join(gl, 'build', 'Release');
  return existsSync(release) && readdirSync(release).some((f) => f.endsWith('.node')) ? 'built' : 'unbuilt';
}

const mb = (b: number): number => sig(b / 1e6, 4);

function main(): void {
  for (const dir of DIRS) {
    if (!existsSync(join(ROOT, 'packages', dir, 'dist', 'index.js'))) throw new Error(`packages/${dir}/dist is missing: run \`npx tsc -b\` first`);
  }
  const tmp = mkdtempSync(join(tmpdir(), 'metagrad-install-sizes-'));
  try {
    const packDir = join(tmp, 'tarballs');
    mkdirSync(packDir);
    const tarballs = new Map<Dir, { path: string; size: number }>();
    const rows: Record<string, string | number | boolean | null>[] = [];
    for (const dir of DIRS) {
      const out = sh('npm', ['pack', '--pack-destination', packDir, '--json', '--loglevel=error'], join(ROOT, 'packages', dir), 120);
      const info = (JSON.parse(out) as { name: string; filename: string; size: number; unpackedSize: number; entryCount: number }[])[0]!;
      tarballs.set(dir, { path: join(packDir, info.filename), size: info.size });
      rows.push({
        suite: 'tarballs', work: info.name, tarball: info.filename, tarball_bytes: info.size, tarball_kb: sig(info.size / 1e3, 4),
        unpacked_bytes: info.unpackedSize, files: info.entryCount, machine: MACHINE, date: DATE,
      });
    }
    console.log('Tarballs (npm pack):');
    console.table(rows.map((r) => ({ tarball: r.tarball, 'packed kB': r.tarball_kb, 'unpacked kB': sig(Number(r.unpacked_bytes) / 1e3, 4), files: r.files })));

    for (const c of CASES) {
      const cwd = join(tmp, `case-${c.key.replace('*', 'x')}`);
      mkdirSync(cwd);
      writeFileSync(join(cwd, 'package.json'), `${JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2)}\n`);
      const specs = [...c.tarballs.map((d) => tarballs.get(d)!.path), ...c.registry];
      process.stdout.write(`(${c.key}) npm install ${c.work} ... `);
      const t0 = performance.now();
      sh('npm', ['install', ...FLAGS, `--ignore-scripts=${!c.scripts}`, ...specs], cwd, 600);
      const seconds = (performance.now() - t0) / 1e3;
      const nm = join(cwd, 'node_modules');
      const { bytes, files } = dirSize(nm);
      const lock = JSON.parse(readFileSync(join(cwd, 'package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };
      const packages = Object.keys(lock.packages).filter((k) => k !== '' && existsSync(join(cwd, k))).length;
      const top = largest(nm, 4);
      console.log(`${mb(bytes)} MB in ${seconds.toFixed(1)} s`);
      rows.push({
        suite: 'install-sizes', work: c.work, case: c.key, installed: specs.map((s) => s.replace(`${packDir}/`, '')).join(' '),
        install_scripts: c.scripts, node_modules_bytes: bytes, node_modules_mb: mb(bytes), files, packages,
        tarball_bytes: c.tarballs.reduce((s, d) => s + tarballs.get(d)!.size, 0), gl: glState(nm),
        gpujs: existsSync(join(nm, 'gpu.js')), webgpu: existsSync(join(nm, 'webgpu'))
          ? (JSON.parse(readFileSync(join(nm, 'webgpu', 'package.json'), 'utf8')) as { version: string }).version : null,
        largest: top.map((p) => {
          const nested = join(nm, p.name, 'node_modules');
          return `${p.name} ${mb(p.bytes)} MB${existsSync(nested) ? ` (${mb(dirSize(nested).bytes)} MB of it in its own node_modules: ${readdirSync(nested).join(', ')})` : ''}`;
        }).join(', '),
        install_s: sig(seconds, 3),
        machine: MACHINE, date: DATE,
      });
    }
    // rows follow the flat convention of results.ts; BenchResult's timing fields do not apply to sizes
    const file = writeResults('install-sizes', rows as unknown as BenchResult[]);
    console.log(`\nInstall sizes (written to ${file}):`);
    console.table(rows.filter((r) => r.suite === 'install-sizes').map((r) => ({
      case: r.case, work: r.work, 'node_modules MB': r.node_modules_mb, files: r.files, packages: r.packages,
      'our tarballs kB': sig(Number(r.tarball_bytes) / 1e3, 4), gl: r.gl, 'root webgpu': r.webgpu ?? '', largest: r.largest,
    })));
  } finally {
    if (!process.env['METAGRAD_KEEP_TMP']) rmSync(tmp, { recursive: true, force: true });
  }
}

main();
