/**
 * What the browser tests share: Debian's `chromium` on PATH (driven by playwright-core; no browser
 * download), the flags that give it WebGL2 and WebGPU on SwiftShader, and a check that the built
 * packages the pages bundle exist and are not older than their sources.
 */
import { accessSync, constants, existsSync, readdirSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** CI sets METAGRAD_EXPECT_BROWSER=1: then a missing chromium fails the tests instead of skipping them. */
export const EXPECT_BROWSER = process.env.METAGRAD_EXPECT_BROWSER === '1';

/**
 * Chromium flags: WebGL2 on SwiftShader (Vulkan) through ANGLE, so gpu.js gets webgl2 without a GPU; and
 * WebGPU, which headless Chromium only exposes with --enable-unsafe-webgpu (its adapter is then SwiftShader).
 */
export const CHROMIUM_ARGS = ['--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--enable-unsafe-webgpu'];

/** The first executable `chromium` on PATH, or null. */
function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return null;
}
export const CHROMIUM = onPath('chromium');
export const SKIP_BROWSER = CHROMIUM === null && !EXPECT_BROWSER;

/** The built files the bundles resolve to (the packages' exports maps point there). */
const DIST_FILES = [
  'packages/autograd/dist/index.js',
  'packages/autograd/dist/gpujs.js',
  'packages/envs/dist/tabular/index.js',
  'packages/rl/dist/estimators/index.js',
  'packages/rl/dist/tabular/index.js',
];

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Builds dist with `tsc -b` when a built entry is missing; warns when a source is newer than its build. */
export function ensureDist(): void {
  const missing = DIST_FILES.filter((f) => !existsSync(join(ROOT, f)));
  if (missing.length > 0) {
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    try {
      execFileSync(process.execPath, [tsc, '-b', 'packages/autograd', 'packages/envs', 'packages/rl'], { cwd: ROOT, stdio: 'pipe', timeout: 300_000 });
    } catch (e) {
      const out = e as { stdout?: Buffer; stderr?: Buffer; message: string };
      throw new Error(
        `the browser bundles resolve to the built packages, but ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing and ` +
        `\`npx tsc -b\` failed:\n${out.stdout?.toString() ?? ''}${out.stderr?.toString() ?? ''}${out.message}`,
      );
    }
    const still = DIST_FILES.filter((f) => !existsSync(join(ROOT, f)));
    if (still.length > 0) throw new Error(`\`npx tsc -b\` ran but ${still.join(', ')} still missing`);
  }
  for (const pkg of ['autograd', 'envs', 'rl']) {
    const info = join(ROOT, `packages/${pkg}/tsconfig.tsbuildinfo`);
    if (existsSync(info) && newestMtime(join(ROOT, `packages/${pkg}/src`)) > statSync(info).mtimeMs)
      console.warn(`browser test: packages/${pkg}/src is newer than its build; the page runs packages/${pkg}/dist (run \`npx tsc -b\`)`);
  }
}

