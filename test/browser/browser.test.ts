/**
 * The libraries in a real browser: esbuild bundles the BUILT packages (packages/*\/dist through the
 * node_modules workspace links, as a user's bundler sees them) for platform 'browser' with no externals
 * and no stubs; each entry's size goes to bench/results/bundles.json; then headless Chromium (Debian's,
 * driven by playwright-core) loads a page that runs workload.ts, and its numbers are compared with the
 * same workload run here in Node on the TypeScript sources:
 *
 * - float64 value, gradient and HVP of a DiCE+LVC objective of a tanh-MLP Gaussian policy, and every
 *   exactAnalysis output on a fixed tabular MDP: equal within 1e-12 per element. Measured: the policy
 *   numbers bit for bit; exactAnalysis within 3.4e-16 (up to ~120 ulps on small elements), because
 *   Math.exp and Math.log differ in the last bit between Node 20's V8 and Chromium's (about 1 argument
 *   in 10) and the softmax policy goes through both;
 * - gpu.js: its mode with a reason (webgl2 on Chromium's SwiftShader when METAGRAD_EXPECT_BROWSER=1, as
 *   CI sets), and a float32 matmul on setBackend('gpujs') equal to setBackend('cpu') within float32
 *   tolerance;
 * - gpu.js's webgpu mode in the browser: the engine in a Web Worker (webgpu-worker.ts), the page serving
 *   its navigator.gpu (SwiftShader with --enable-unsafe-webgpu) over a MessagePort; the page is served
 *   cross-origin isolated (COOP/COEP) for SharedArrayBuffer. The report, a matmul, and the value,
 *   gradient and HVP of a float32 MLP objective on webgpu equal the cpu backend's.
 *
 * Without `chromium` on PATH the browser tests skip, naming why, unless METAGRAD_EXPECT_BROWSER=1.
 */
import { describe, it, expect } from 'vitest';
import { build, type BuildOptions, type Message, type Metafile, type Plugin } from 'esbuild';
import { chromium as playwrightChromium } from 'playwright-core';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as autograd from '@metagrad/autograd';
import * as estimators from '@metagrad/rl/estimators';
import * as tabular from '@metagrad/rl/tabular';
import { machine } from '../../bench/src/results.js';
import { float32Objective, float64Workload, matmulNow, matmulOperands, MM, type Float64Numbers, type WebgpuNumbers } from './workload.js';
import type { PageResult } from './page.js';
import { CHROMIUM, CHROMIUM_ARGS, EXPECT_BROWSER, SKIP_BROWSER, ensureDist } from './chromium.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PAGE_ENTRY = fileURLToPath(new URL('./page.ts', import.meta.url));
const WORKER_ENTRY = fileURLToPath(new URL('./webgpu-worker.ts', import.meta.url));
const RESULTS = new URL('../../bench/results/bundles.json', import.meta.url);

/** The library entries a user imports, each bundled alone for its size. */
const ENTRIES: { work: string; specifiers: string[] }[] = [
  { work: '@metagrad/autograd', specifiers: ['@metagrad/autograd'] },
  { work: '@metagrad/autograd + @metagrad/autograd/gpujs', specifiers: ['@metagrad/autograd', '@metagrad/autograd/gpujs'] },
  { work: '@metagrad/rl/estimators', specifiers: ['@metagrad/rl/estimators'] },
  { work: '@metagrad/rl/tabular', specifiers: ['@metagrad/rl/tabular'] },
];

interface Bundle {
  text: string;
  metafile: Metafile;
}

/**
 * An esbuild plugin that only watches resolution (it returns nothing, so esbuild resolves every path
 * itself): it records who imported what, so a failed build can name the import chain that reached the
 * file esbuild could not bundle.
 */
function importWatcher(edges: Map<string, string>): Plugin {
  return {
    name: 'import-watcher',
    setup(b) {
      b.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData === 'watcher') return undefined;
        const r = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'watcher' });
        if (r.errors.length === 0 && r.path) {
          const rel = relative(ROOT, r.path);
          if (!edges.has(rel)) edges.set(rel, `${args.importer ? relative(ROOT, args.importer) : '(entry)'} → ${args.kind === 'dynamic-import' ? `import('${args.path}')` : `'${args.path}'`}`);
        }
        return undefined;
      });
    },
  };
}

/** The chain of imports that reached `file`, from the entry: "a.js → 'b' ⇒ b.js → import('c') ⇒ c.js". */
function chainTo(file: string, edges: Map<string, string>): string {
  const steps: string[] = [];
  let at = file;
  for (let i = 0; i < 30; i++) {
    const e = edges.get(at);
    if (!e) break;
    steps.unshift(`${e} = ${at}`);
    at = e.split(' → ')[0]!;
    if (at === '(entry)' || at === '<stdin>') break;
  }
  return steps.join('\n      ');
}

/** esbuild as a user's browser build would run it: bundle, platform browser, ESM, nothing external. */
async function bundle(input: { specifiers: string[] } | { entry: string }, minify: boolean, work: string): Promise<Bundle> {
  const source: BuildOptions = 'entry' in input
    ? { entryPoints: [input.entry], outfile: 'page.js' }
    : { stdin: { contents: input.specifiers.map((s) => `export * from '${s}';`).join('\n'), resolveDir: ROOT, sourcefile: 'entry.js', loader: 'js' } };
  const edges = new Map<string, string>();
  try {
    const r = await build({
      ...source,
      bundle: true, platform: 'browser', format: 'esm', minify, write: false, metafile: true, logLevel: 'silent', absWorkingDir: ROOT,
      plugins: [importWatcher(edges)],
    });
    return { text: r.outputFiles[0]!.text, metafile: r.metafile! };
  } catch (e) {
    const errors = (e as { errors?: Message[] }).errors ?? [];
    const files = [...new Set(errors.map((m) => m.location?.file).filter((f): f is string => !!f))];
    const chains = files.map((f) => `  ${f} is reached through:\n      ${chainTo(f, edges) || '(unknown)'}`).join('\n');
    throw new Error(`esbuild could not bundle ${work} for the browser (platform 'browser', no externals, no stubs):\n${e instanceof Error ? e.message : String(e)}${chains ? `\n${chains}` : ''}`);
  }
}

/**
 * Node-only imports left in a bundle: imports esbuild kept external (none should be: nothing is marked
 * external, so an unresolved one fails the build) and `node:` specifiers in import/export/require/import()
 * forms. (String literals such as process.getBuiltinModule?.('node:fs'), guarded to Node, are not imports.)
 */
function nodeImports(b: Bundle): string[] {
  const found: string[] = [];
  for (const [file, input] of Object.entries(b.metafile.inputs))
    for (const imp of input.imports) if (imp.external || imp.path.startsWith('node:')) found.push(`${file} imports ${imp.path}${imp.external ? ' (external)' : ''}`);
  const re = /\b(?:from\s*|import\s*\(\s*|require\s*\(\s*|import\s*)["']node:[^"']*["']/g;
  for (const m of b.text.matchAll(re)) found.push(`bundle text: ${m[0]}`);
  return found;
}

/** One row of bench/results/bundles.json (sizes null, and `error` set, when the entry did not bundle). */
interface SizeRow {
  suite: 'bundles';
  work: string;
  bytes: number | null;
  min_bytes: number | null;
  gzip_bytes: number | null;
  date: string;
  machine: string;
  error?: string;
}

const once = <T>(f: () => Promise<T>): (() => Promise<T>) => {
  let p: Promise<T> | null = null;
  return () => (p ??= f());
};

/** Every entry alone (plain and minified) and the test page; entries that fail to bundle are listed with esbuild's error. */
const bundles = once(async () => {
  const t0 = performance.now();
  ensureDist();
  const tBuilt = performance.now();
  const settled = await Promise.allSettled(ENTRIES.map(async (e) => {
    const [raw, min] = await Promise.all([bundle(e, false, e.work), bundle(e, true, e.work)]);
    return { work: e.work, raw, min };
  }));
  const page = await bundle({ entry: PAGE_ENTRY }, false, 'the test page (test/browser/page.ts)').then((b) => ({ ok: true as const, b }), (error: Error) => ({ ok: false as const, error }));
  const worker = await bundle({ entry: WORKER_ENTRY }, false, 'the webgpu test worker (test/browser/webgpu-worker.ts)').then((b) => ({ ok: true as const, b }), (error: Error) => ({ ok: false as const, error }));
  const ms = { dist: tBuilt - t0, bundle: performance.now() - tBuilt };
  return { settled, page, worker, ms };
});

/** The page's numbers from headless Chromium, with what the page logged. */
const browserRun = once(async () => {
  if (CHROMIUM === null) throw new Error('METAGRAD_EXPECT_BROWSER=1, but there is no `chromium` on PATH (CI installs Debian\'s chromium package)');
  const { page: built, worker } = await bundles();
  if (!built.ok) throw built.error;
  if (!worker.ok) throw worker.error;
  const html = '<!doctype html><html><head><meta charset="utf-8"><title>metagrad browser test</title></head>' +
    '<body><script type="module" src="/page.js"></script></body></html>';
  const server: Server = createServer((req, res) => {
    const [status, type, body] = req.url === '/' || req.url === '/index.html' ? [200, 'text/html', html]
      : req.url === '/page.js' ? [200, 'text/javascript', built.b.text]
        : req.url === '/webgpu-worker.js' ? [200, 'text/javascript', worker.b.text] : [404, 'text/plain', 'not found'];
    // cross-origin isolated: SharedArrayBuffer, which the webgpu route blocks on
    res.writeHead(status, {
      'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-store',
      'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp',
    });
    res.end(body);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const logs: string[] = [];
  const t0 = performance.now();
  const browser = await playwrightChromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
  try {
    const tLaunched = performance.now();
    const page = await browser.newPage();
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    page.on('console', (m) => logs.push(`console.${m.type()}: ${m.text()}`));
    await page.goto(url);
    try {
      await page.waitForFunction(() => window.metagradReady === true, null, { timeout: 30_000 });
    } catch (e) {
      throw new Error(`the page did not load: ${e instanceof Error ? e.message : String(e)}\n${logs.join('\n')}`);
    }
    const tLoaded = performance.now();
    const result = await page.evaluate(() => window.metagradRun!());
    const tRun = performance.now();
    const webgpu = await page.evaluate(() => window.metagradWebgpu!());
    const ms = { launch: tLaunched - t0, load: tLoaded - tLaunched, run: tRun - tLoaded, webgpu: performance.now() - tRun };
    return { result: result as PageResult, webgpu: webgpu as WebgpuNumbers & { mainThread: string }, logs, ms, browserVersion: browser.version() };
  } finally {
    await browser.close();
    server.close();
  }
});

/** The same float64 workload here in Node (TypeScript sources through vitest's aliases). */
const nodeNumbers = once(async (): Promise<Float64Numbers> => float64Workload({ autograd, estimators, tabular }));

/** Bit distance between two doubles of the same sign (ulps); Infinity across signs unless both are ±0. */
function ulps(a: number, b: number): number {
  if (a === b) return 0;
  if (Math.sign(a) !== Math.sign(b)) return Infinity;
  const buf = new Float64Array([a, b]);
  const i = new BigInt64Array(buf.buffer);
  const d = i[0]! - i[1]!;
  return Number(d < 0n ? -d : d);
}

/** Per-element comparison |got − want| ≤ tol · max(1, |want|); returns the worst differences. */
function compare(name: string, got: readonly number[], want: readonly number[], tol: number): { maxAbs: number; maxRel: number; maxUlps: number; identical: number; n: number } {
  expect(got.length, `${name}: length`).toBe(want.length);
  let maxAbs = 0, maxRel = 0, maxUlps = 0, identical = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!, w = want[i]!;
    expect(Number.isFinite(g), `${name}[${i}] is ${g}`).toBe(true);
    const d = Math.abs(g - w);
    expect(d, `${name}[${i}]: browser ${g} vs Node ${w}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(w)));
    maxAbs = Math.max(maxAbs, d);
    if (w !== 0) maxRel = Math.max(maxRel, d / Math.abs(w));
    maxUlps = Math.max(maxUlps, ulps(g, w));
    if (Object.is(g, w)) identical++;
  }
  return { maxAbs, maxRel, maxUlps, identical, n: want.length };
}

const fmt = (x: number): string => (x === 0 ? '0' : x.toExponential(2));

describe('browser bundles of the built packages (esbuild, platform browser)', () => {
  it('every library entry bundles as is (no externals, no stubs, no node: imports); sizes → bench/results/bundles.json', async () => {
    const { settled, ms } = await bundles();
    const date = new Date().toISOString();
    const where = machine();
    const rows: SizeRow[] = [];
    const failures: string[] = [];
    for (const [i, s] of settled.entries()) {
      if (s.status === 'rejected') {
        const message = s.reason instanceof Error ? s.reason.message : String(s.reason);
        failures.push(message);
        rows.push({ suite: 'bundles', work: ENTRIES[i]!.work, bytes: null, min_bytes: null, gzip_bytes: null, date, machine: where, error: message.split('\n').slice(0, 3).join(' ') });
        continue;
      }
      const { work, raw, min } = s.value;
      const leftovers = [...nodeImports(raw), ...nodeImports(min)];
      if (leftovers.length > 0) failures.push(`${work}: Node imports in the bundle:\n  ${leftovers.join('\n  ')}`);
      rows.push({
        suite: 'bundles', work: ENTRIES[i]!.work,
        bytes: Buffer.byteLength(raw.text), min_bytes: Buffer.byteLength(min.text), gzip_bytes: gzipSync(min.text, { level: 9 }).length,
        date, machine: where,
      });
    }
    // rewrite the committed results only when a size changed (not for a new date alone)
    const sizes = (rs: readonly { work: string; bytes: number | null; min_bytes: number | null; gzip_bytes: number | null }[]): string =>
      JSON.stringify(rs.map((r) => [r.work, r.bytes, r.min_bytes, r.gzip_bytes]));
    const before = existsSync(RESULTS) ? (JSON.parse(readFileSync(RESULTS, 'utf8')) as typeof rows) : [];
    if (sizes(before) !== sizes(rows)) {
      mkdirSync(new URL('./', RESULTS), { recursive: true });
      writeFileSync(RESULTS, `${JSON.stringify(rows, null, 2)}\n`);
    }
    const w = Math.max(...rows.map((r) => r.work.length));
    const cell = (x: number | null): string => (x === null ? 'failed' : String(x)).padStart(9);
    console.log([
      `browser bundles (esbuild, platform browser, esm; ${ms.bundle.toFixed(0)} ms${ms.dist > 50 ? `, tsc -b ${ms.dist.toFixed(0)} ms` : ''}):`,
      `  ${'entry'.padEnd(w)}  ${'bytes'.padStart(9)}  ${'minified'.padStart(9)}  ${'gzip'.padStart(9)}`,
      ...rows.map((r) => `  ${r.work.padEnd(w)}  ${cell(r.bytes)}  ${cell(r.min_bytes)}  ${cell(r.gzip_bytes)}`),
    ].join('\n'));
    expect(failures, failures.join('\n\n')).toEqual([]);
    expect(rows.every((r) => r.bytes !== null)).toBe(true);
  });

  it('the test page bundle (all four entries + workload.ts) builds with no node: imports', async () => {
    const { page } = await bundles();
    if (!page.ok) throw page.error;
    expect(nodeImports(page.b)).toEqual([]);
    const inputs = Object.keys(page.b.metafile.inputs);
    // the packages come from their builds, not their sources
    for (const dist of ['packages/autograd/dist/', 'packages/rl/dist/', 'packages/envs/dist/'])
      expect(inputs.some((f) => f.startsWith(dist)), `no input from ${dist}`).toBe(true);
    expect(inputs.filter((f) => /^packages\/[^/]+\/src\//.test(f))).toEqual([]);
    // gpu.js through its package.json "browser" field
    expect(inputs.some((f) => f.endsWith('node_modules/gpu.js/dist/gpu-browser.js')), 'gpu.js/dist/gpu-browser.js not bundled').toBe(true);
  });
});

describe.skipIf(SKIP_BROWSER)(`the bundle in headless Chromium${SKIP_BROWSER ? ' — skipped here: no chromium on PATH' : ''}`, () => {
  it('the page loads and runs without errors', async () => {
    const { result, logs, ms, browserVersion } = await browserRun();
    console.log(`chromium ${browserVersion} (${CHROMIUM}, flags ${CHROMIUM_ARGS.join(' ')}): launch ${ms.launch.toFixed(0)} ms, ` +
      `page load ${ms.load.toFixed(0)} ms, workload ${ms.run.toFixed(0)} ms (float64 part ${result.ms.float64.toFixed(0)} ms, gpu.js part ${result.ms.gpujs.toFixed(0)} ms)\n` +
      `  user agent: ${result.userAgent}\n  WebGL: ${result.webgl ? `${result.webgl.api}, ${result.webgl.vendor}, ${result.webgl.renderer}` : 'none'}`);
    expect(logs.filter((l) => l.startsWith('pageerror'))).toEqual([]);
    expect(result.userAgent).toMatch(/Chrome\/\d+/);
  });

  it('value, gradient and HVP (float64) of a DiCE + LVC objective of a tanh-MLP Gaussian policy equal Node\'s within 1e-12', async () => {
    const [{ result }, node] = await Promise.all([browserRun(), nodeNumbers()]);
    const b = result.float64;
    const stats = {
      value: compare('value', [b.value], [node.value], 1e-12),
      grad: compare('grad', b.grad, node.grad, 1e-12),
      hvp: compare('hvp', b.hvp, node.hvp, 1e-12),
    };
    expect(node.hvp.some((x) => Math.abs(x) > 1e-3)).toBe(true); // a nontrivial HVP
    console.log(`float64 policy objective, browser vs Node: ${Object.entries(stats).map(([k, s]) =>
      `${k} (${s.n}) max |Δ| ${fmt(s.maxAbs)}, max ulps ${s.maxUlps}, ${s.identical}/${s.n} identical`).join('; ')}`);
  });

  it('exactAnalysis of randomTabular(3, 3, 2, 4) (J, ∇J, ∇²J, H1, H2, H12, DiCE and LVC Hessian means) equals Node\'s within 1e-12', async () => {
    const [{ result }, node] = await Promise.all([browserRun(), nodeNumbers()]);
    const b = result.float64.exact, n = node.exact;
    const keys = ['grad', 'hessian', 'H1', 'H2', 'H12', 'diceHessianMean', 'lvcHessianMean'] as const;
    const inputs = compare('MDP and θ', result.float64.tabularInputs, node.tabularInputs, 1e-15);
    const stats = [['J', compare('J', [b.J], [n.J], 1e-12)] as const, ...keys.map((k) => [k, compare(k, b[k], n[k], 1e-12)] as const)];
    expect(n.hessian).toHaveLength(36);
    console.log(`randomTabular(3, 3, 2, 4) inputs: max |Δ| ${fmt(inputs.maxAbs)}, ${inputs.identical}/${inputs.n} identical\n` +
      `exactAnalysis, browser vs Node: ${stats.map(([k, s]) => `${k} max |Δ| ${fmt(s.maxAbs)} (${s.maxUlps} ulps, ${s.identical}/${s.n} identical)`).join('; ')}`);
  });

  it(`gpu.js reports its mode with a reason${EXPECT_BROWSER ? ' (webgl2, on SwiftShader: METAGRAD_EXPECT_BROWSER=1)' : ''}`, async () => {
    const { result } = await browserRun();
    const { info, float32Report } = result.gpujs;
    console.log(`gpu.js in the page: mode ${info.mode}, isGpu ${info.isGpu}, software ${info.software}, renderer ${info.renderer}\n  reason: ${info.reason}\n  float32 matmuls: ${float32Report}`);
    expect(info.available, info.reason).toBe(true);
    expect(['webgl2', 'webgl', 'webasm', 'cpu']).toContain(info.mode);
    expect(info.reason).toMatch(new RegExp(`^${info.mode}`));
    expect(info.reason.length).toBeGreaterThan(20);
    expect(info.isGpu).toBe(info.mode === 'webgl2' || info.mode === 'webgl');
    expect(float32Report).toContain(`gpujs in mode ${info.mode} (forced)`);
    const softwareRenderer = result.webgl !== null && /swiftshader|llvmpipe|softpipe|software/i.test(result.webgl.renderer);
    if (info.isGpu && softwareRenderer && !info.software)
      console.warn(`NOTE: gpu.js ${info.mode} renders on ${result.webgl!.renderer} (software, on the CPU), but gpujsInfo() says software: false`);
    // Measured on Debian's Chromium 156 here: WebGL2 through ANGLE on SwiftShader (Vulkan), with or without flags.
    if (EXPECT_BROWSER) expect(info.mode, `METAGRAD_EXPECT_BROWSER=1 expects webgl2; gpu.js says: ${info.reason}`).toBe('webgl2');
  });

  it(`A·B (${MM.m}×${MM.k} · ${MM.k}×${MM.n}, float32) on setBackend('gpujs') equals setBackend('cpu') within float32 tolerance`, async () => {
    const { result } = await browserRun();
    const { gpujs, cpu, cpuKernel } = result.gpujs;
    const { a, b } = matmulOperands();
    const { m, k, n } = MM;
    expect(gpujs).toHaveLength(m * n);
    expect(cpu).toHaveLength(m * n);
    let worst = 0, maxAbs = 0, maxRelToScale = 0;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let scale = 0, exact = 0;
        for (let t = 0; t < k; t++) {
          scale += Math.abs(a[i * k + t]! * b[t * n + j]!);
          exact += a[i * k + t]! * b[t * n + j]!;
        }
        const g = gpujs[i * n + j]!, c = cpu[i * n + j]!;
        const d = Math.abs(g - c);
        expect(d, `C[${i}][${j}]: gpujs ${g} vs cpu ${c} (Σ|a||b| = ${scale})`).toBeLessThanOrEqual(1e-4 * scale);
        expect(Math.abs(c - exact), `cpu C[${i}][${j}] vs float64 dot product`).toBeLessThanOrEqual(1e-5 * scale);
        worst = Math.max(worst, d / scale);
        maxAbs = Math.max(maxAbs, d);
        maxRelToScale = Math.max(maxRelToScale, Math.abs(c - exact) / scale);
      }
    // the page's cpu product against Node's, same wasm kernels
    const nodeCpu = (() => {
      autograd.setBackend('cpu');
      try {
        return matmulNow(autograd);
      } finally {
        autograd.setBackend('auto');
      }
    })();
    const sameAsNode = cpu.filter((x, i) => Object.is(x, nodeCpu[i])).length;
    let nodeMax = 0;
    for (let i = 0; i < cpu.length; i++) nodeMax = Math.max(nodeMax, Math.abs(cpu[i]! - nodeCpu[i]!));
    console.log(`matmul in the page (${result.gpujs.info.mode} vs cpu/${cpuKernel}): max |Δ| ${fmt(maxAbs)}, max |Δ|/Σ|a||b| ${fmt(worst)}; ` +
      `cpu vs float64 dots max ${fmt(maxRelToScale)}·Σ|a||b|; page cpu vs Node cpu (${autograd.cpuKernel()}): ${sameAsNode}/${cpu.length} identical, max |Δ| ${fmt(nodeMax)}`);
    expect(nodeMax).toBeLessThanOrEqual(1e-5);
  });

  it("gpu.js's webgpu mode from a Web Worker, served by the page's navigator.gpu: report, matmul, value, gradient and HVP equal the cpu backend's", async () => {
    const { webgpu: w, ms } = await browserRun();
    // asked on the page's own thread, it refuses and says where the engine must run
    expect(w.mainThread).toMatch(/webgpu: the engine must run in a Web Worker to use the page's WebGPU/);
    if (w.error !== undefined) {
      // Chromium without WebGPU (no adapter headless without --enable-unsafe-webgpu): the error names it
      console.log(`webgpu in the page's worker: not available: ${w.error}`);
      if (EXPECT_BROWSER) throw new Error(`METAGRAD_EXPECT_BROWSER=1 expects webgpu in the worker (SwiftShader); it said: ${w.error}`);
      expect(w.error).toMatch(/^webgpu: |gpu\.js mode "webgpu" is not available: webgpu: /);
      return;
    }
    console.log(`webgpu in the page's worker (${ms.webgpu.toFixed(0)} ms): ${w.info.reason}\n  float32 matmuls: ${w.float32Report}`);
    expect(w.crossOriginIsolated).toBe(true);
    expect(w.info.mode).toBe('webgpu');
    expect(w.info.isGpu).toBe(true);
    expect(w.info.reason).toMatch(/^webgpu \([^)]*, (software|hardware GPU)\): adapter '.*' through the page's navigator\.gpu/);
    if (/swiftshader/i.test(w.info.renderer ?? '')) {
      expect(w.info.reason).toMatch(/^webgpu \(SwiftShader, software\)/);
      expect(w.info.software).toBe(true);
    }
    expect(w.float32Report).toBe(`gpujs in mode webgpu (forced)${w.info.software ? ', which computes on the CPU' : ''}`);
    const { a, b } = matmulOperands();
    const { m, k, n } = MM;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let scale = 0;
        for (let t = 0; t < k; t++) scale += Math.abs(a[i * k + t]! * b[t * n + j]!);
        expect(Math.abs(w.matmul.webgpu[i * n + j]! - w.matmul.cpu[i * n + j]!), `C[${i}][${j}]`).toBeLessThanOrEqual(1e-5 * scale);
      }
    // the objective: the worker's cpu numbers are Node's (same wasm kernels), webgpu's within float32 tolerance of them
    autograd.setBackend('cpu');
    const node = float32Objective(autograd);
    autograd.setBackend('auto');
    const cpuVsNode = compare('objective, page cpu vs Node cpu', w.objective.cpu, node, 1e-6);
    const gpuVsCpu = compare('objective, webgpu vs cpu', w.objective.webgpu, w.objective.cpu, 2e-4);
    expect(node.some((x, i) => i > 0 && Math.abs(x) > 1e-2)).toBe(true); // nontrivial derivatives
    console.log(`  value, gradient, HVP (${node.length} numbers): webgpu vs cpu max |Δ| ${fmt(gpuVsCpu.maxAbs)} (${gpuVsCpu.identical} identical); page cpu vs Node ${fmt(cpuVsNode.maxAbs)}`);
  });
});
