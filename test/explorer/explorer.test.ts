/**
 * The estimator explorer (packages/explorer) in headless Chromium: Vite builds the static site from the
 * built packages, a plain static server serves the folder, and playwright-core drives Debian's chromium.
 * - decomposition: the default MDP's J, identity residual, LVC bias and variance ratio as shown equal
 *   exactAnalysis here in Node (TypeScript sources) to the digits shown; moving a θ slider moves them to
 *   the new θ's values;
 * - variance: a small setting finishes, with a row per batch size;
 * - engine: gpu.js reports a mode (webgl2 on SwiftShader when METAGRAD_EXPECT_BROWSER=1) and its float32
 *   matmuls equal the cpu backend's within float32 tolerance;
 * - adaptation: one tiny ProMP iteration trained in the page, and a run directory's checkpoint written
 *   here by the CLI's trainInDir and given to the page; the evaluation returns shown equal train() and
 *   evaluate() here to the digits shown.
 * Each panel's screenshot is written to docs/explorer-*.png.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { tensor } from '@metagrad/autograd';
import { exactAnalysis, randomTabular } from '@metagrad/rl/tabular';
import { ADAPT_BASE, EVAL, PRESETS } from '../../packages/explorer/src/presets.js';
import { type ConfigInput, evaluate, resolveConfig, train } from '@metagrad/rl';
import { RUN_FILES, readCheckpoint, readRunConfig, trainInDir } from 'metagrad';
import { fmtRatio, fmtValue } from '../../packages/explorer/src/format.js';
import { CHROMIUM, CHROMIUM_ARGS, EXPECT_BROWSER, SKIP_BROWSER, ensureDist } from '../browser/chromium.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOCS = join(ROOT, 'docs');
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.json': 'application/json' };

/** A static file server for `dir` (what any static host does), on a free loopback port. */
async function serve(dir: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = normalize(join(dir, decodeURIComponent((req.url ?? '/').split('?')[0]!)));
    let file = path.startsWith(dir) ? path : join(dir, '404');
    try {
      if (statSync(file).isDirectory()) file = join(file, 'index.html');
      const body = readFileSync(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

/** |shown − exact| within half a unit of the last digit shown (plus rounding of the exact value). */
function agrees(shown: string, exact: number): boolean {
  const s = shown.trim();
  const mantissa = s.split('e')[0]!;
  const decimals = mantissa.includes('.') ? mantissa.split('.')[1]!.length : 0;
  const exp = s.includes('e') ? Number(s.split('e')[1]) : 0;
  const unit = 10 ** (exp - decimals);
  return Math.abs(Number(s) - exact) <= unit / 2 + Math.abs(exact) * 1e-15;
}

const text = (page: Page, id: string): Promise<string> => page.locator(`[data-testid="${id}"]`).innerText();

describe('the explorer sources', () => {
  it('type-check (tsc --noEmit -p packages/explorer: DOM and Web Worker code, strict)', () => {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'packages/explorer'], { cwd: ROOT, stdio: 'pipe', timeout: 120_000 });
  }, 150_000);
});

describe.skipIf(SKIP_BROWSER)(`the explorer in headless Chromium${SKIP_BROWSER ? ' — skipped here: no chromium on PATH' : ''}`, () => {
  let browser: Browser, page: Page, server: Server;
  const logs: string[] = [];

  beforeAll(async () => {
    if (CHROMIUM === null) throw new Error('METAGRAD_EXPECT_BROWSER=1, but there is no `chromium` on PATH (CI installs Debian\'s chromium package)');
    ensureDist();
    const out = mkdtempSync(join(tmpdir(), 'metagrad-explorer-'));
    await build({ configFile: join(ROOT, 'packages/explorer/vite.config.ts'), logLevel: 'warn', build: { outDir: out, emptyOutDir: true } });
    const served = await serve(out);
    server = served.server;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    page.on('console', (m) => logs.push(`console.${m.type()}: ${m.text()}`));
    await page.goto(served.url);
    await page.waitForFunction(() => (window as unknown as { explorerReady?: boolean }).explorerReady === true, null, { timeout: 30_000 });
    mkdirSync(DOCS, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  /** exactAnalysis in Node at θ on the default preset's MDP, with the page's summaries. */
  function nodeNumbers(theta: number[]): { J: number; residual: number; lvcBias: number; varianceRatio: number } {
    const { mdp } = PRESETS[0]!.make();
    const x = exactAnalysis(mdp, tensor(Float64Array.from(theta), [mdp.S, mdp.A]));
    const norm = (t: { data: ArrayLike<number> }): number => Math.sqrt(Array.from(t.data).reduce((s, v) => s + v * v, 0));
    const h = norm(x.hessian);
    const sum = (t: { data: ArrayLike<number> }): number => Array.from(t.data).reduce((s, v) => s + v, 0);
    return {
      J: x.J,
      residual: norm(x.H1.add(x.H2).add(x.H12).add(x.H12.T).sub(x.hessian)) / h,
      lvcBias: norm(x.lvcHessianMean.sub(x.hessian)) / h,
      varianceRatio: sum(x.diceHessianVar) / sum(x.lvcHessianVar),
    };
  }

  async function shown(): Promise<{ J: string; residual: string; lvcBias: string; varianceRatio: string }> {
    return { J: await text(page, 'j-value'), residual: await text(page, 'identity-residual'), lvcBias: await text(page, 'lvc-bias'), varianceRatio: await text(page, 'variance-ratio') };
  }

  it("decomposition: the default MDP's J, identity residual, LVC bias and variance ratio equal exactAnalysis in Node to the digits shown", async () => {
    await page.waitForFunction(() => document.querySelector('[data-testid="j-value"]')!.textContent !== '…', null, { timeout: 30_000 });
    const theta = PRESETS[0]!.make().theta;
    const n = nodeNumbers(theta), s = await shown();
    expect(s.J).toBe(fmtValue(n.J));
    expect(agrees(s.J, n.J), `J ${s.J} vs ${n.J}`).toBe(true);
    expect(Number(s.residual)).toBeLessThan(1e-13); // the identity holds to rounding
    expect(Math.abs(Number(s.residual) - n.residual)).toBeLessThan(2e-15); // the same rounding as exactAnalysis here (Math.exp may differ by an ulp between V8s)
    expect(s.lvcBias).toBe(fmtRatio(n.lvcBias));
    expect(s.varianceRatio).toBe(fmtRatio(n.varianceRatio));
    expect(Number(s.lvcBias)).toBeGreaterThan(0.01); // LVC's Hessian is biased here
    await page.locator('#decomposition').screenshot({ path: join(DOCS, 'explorer-decomposition.png') });
  }, 60_000);

  it('decomposition: moving a θ slider updates the numbers to the new θ', async () => {
    const before = await text(page, 'j-value');
    const slider = page.locator('[data-testid="theta-1-0"]');
    await slider.fill('1.5'); // sets the range input's value and fires input
    await page.waitForFunction((b) => document.querySelector('[data-testid="j-value"]')!.textContent !== b && document.getElementById('decomp-status')!.textContent!.includes('computed in'), before, { timeout: 30_000 });
    await page.waitForTimeout(200); // a later request (latest wins) may still be on its way
    await page.waitForFunction(() => document.getElementById('decomp-status')!.textContent!.includes('computed in'), null, { timeout: 30_000 });
    const theta = PRESETS[0]!.make().theta;
    theta[1 * 2 + 0] = 1.5;
    const n = nodeNumbers(theta), s = await shown();
    expect(s.J).toBe(fmtValue(n.J));
    expect(s.lvcBias).toBe(fmtRatio(n.lvcBias));
    expect(s.varianceRatio).toBe(fmtRatio(n.varianceRatio));
    expect(s.J).not.toBe(before);
    expect(Number(s.residual)).toBeLessThan(1e-13);
  }, 60_000);

  it('decomposition: a larger random MDP (3×3, H 5: exactSummary in the page) shows exactAnalysis\'s numbers in Node to the digits shown', async () => {
    await page.fill('#mdp-S', '3');
    await page.fill('#mdp-A', '3');
    await page.fill('#mdp-H', '5');
    await page.fill('#mdp-seed', '2');
    await page.evaluate(() => { document.getElementById('decomp-status')!.textContent = ''; });
    await page.click('#mdp-random');
    await page.waitForFunction(() => /computed in/.test(document.getElementById('decomp-status')!.textContent!), null, { timeout: 60_000 });
    expect(await page.locator('#decomp-status').innerText()).toMatch(/^59,049 trajectories, exactSummary computed in \d+ ms$/);
    const { mdp, theta } = randomTabular(2, 3, 3, 5);
    const x = exactAnalysis(mdp, theta), s = await shown();
    const norm = (t: { data: ArrayLike<number> }): number => Math.sqrt(Array.from(t.data).reduce((a, v) => a + v * v, 0));
    expect(s.J).toBe(fmtValue(x.J));
    expect(s.lvcBias).toBe(fmtRatio(norm(x.lvcHessianMean.sub(x.hessian)) / norm(x.hessian)));
    expect(Number(s.residual)).toBeLessThan(1e-13);
    await page.selectOption('#preset', '0'); // back to the default for the panels below
    await page.waitForFunction(() => /^1,296 trajectories/.test(document.getElementById('decomp-status')!.textContent!), null, { timeout: 60_000 });
  }, 90_000);

  it('variance: a small setting finishes with a row per batch size and a plot', async () => {
    await page.fill('#var-batches', '5,10,20,40');
    await page.fill('#var-repeats', '30');
    await page.fill('#var-npost', '100');
    await page.click('#variance-run');
    await page.waitForFunction(() => /^done in/.test(document.querySelector('[data-testid="variance-status"]')!.textContent!), null, { timeout: 120_000 });
    expect(await page.locator('#variance-table tr').count()).toBe(5);
    expect(await page.locator('#variance-chart svg').count()).toBe(1);
    const bar = await page.locator('#variance-progress').evaluate((b: HTMLProgressElement) => [b.value, b.max]);
    expect(bar[0]).toBe(bar[1]);
    await page.locator('#variance').screenshot({ path: join(DOCS, 'explorer-variance.png') });
  }, 150_000);

  it(`engine: gpu.js reports its mode${EXPECT_BROWSER ? ' (webgl2 on SwiftShader)' : ''} and its matmuls equal the cpu backend's within float32 tolerance`, async () => {
    await page.fill('#engine-sizes', '64,128,256,512');
    await page.click('#engine-run');
    await page.waitForFunction(() => document.querySelector('[data-testid="engine-status"]')!.textContent !== '', null, { timeout: 120_000 });
    expect(await text(page, 'engine-status'), logs.join('\n')).toBe('done');
    const mode = await text(page, 'backend-mode');
    expect(['webgl2', 'webgl', 'webgpu', 'webasm', 'cpu']).toContain(mode);
    if (EXPECT_BROWSER) expect(mode, await page.locator('#engine-info').innerText()).toBe('webgl2');
    for (const n of [64, 128, 256, 512]) {
      const diff = Number(await text(page, `matmul-diff-${n}`));
      expect(diff, `n = ${n}`).toBeLessThan(1e-5);
    }
    await page.locator('#engine').screenshot({ path: join(DOCS, 'explorer-engine.png') });
    // again, with more shapes: every report used to take a new WebGL context, and once the browser had
    // evicted gpu.js's own (after about 16) its kernels failed ("Error compiling vertex shader: null")
    await page.fill('#engine-sizes', '32,48,80,96,112,144,160');
    await page.click('#engine-run');
    await page.waitForFunction(() => document.querySelector('[data-testid="engine-status"]')!.textContent !== '', null, { timeout: 120_000 });
    expect(await text(page, 'engine-status')).toBe('done');
    for (const n of [32, 48, 80, 96, 112, 144, 160]) expect(Number(await text(page, `matmul-diff-${n}`)), `n = ${n}`).toBeLessThan(1e-5);
  }, 150_000);

  /** evaluate()'s returns (pre → post, 3 decimals as the page writes them) of a checkpoint of `config`. */
  async function nodeReturns(config: ConfigInput, checkpoint: Parameters<typeof evaluate>[1]): Promise<string> {
    const r = await evaluate(resolveConfig(config), checkpoint, { tasks: EVAL.evalTasks, seed: EVAL.evalSeed });
    return `${r.returns[0]!.toFixed(3)} → ${r.returns.at(-1)!.toFixed(3)}`;
  }

  it('adaptation: one tiny ProMP iteration trains in the page; its evaluation equals train() and evaluate() here', async () => {
    await page.fill('#adapt-iterations', '1');
    await page.fill('#adapt-tasks', '4');
    await page.fill('#adapt-rollouts', '4');
    await page.click('#adapt-train');
    await page.waitForFunction(() => /^(done|error)/.test(document.querySelector('[data-testid="adapt-status"]')!.textContent!), null, { timeout: 150_000 });
    expect(await text(page, 'adapt-status'), logs.join('\n')).toMatch(/^done in/);
    const config = { ...ADAPT_BASE, algo: 'promp', env: 'point-corner', iterations: 1, metaBatchSize: 4, rolloutsPerTask: 4, seed: 1 };
    const { checkpoint } = await train(resolveConfig(config));
    expect(await text(page, 'adapt-returns')).toBe(await nodeReturns(config, checkpoint!));
    expect(await page.locator('#adapt-trajectories svg').count()).toBe(1);
    expect(await page.locator('#adapt-curve svg').count()).toBe(1);
  }, 200_000);

  it("adaptation: a run directory's config.json and checkpoint.json from the CLI evaluate in the page as in Node", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'metagrad-explorer-run-'));
    const config = resolveConfig({ ...ADAPT_BASE, algo: 'lvc-vpg', env: 'point-corner', iterations: 2, metaBatchSize: 4, rolloutsPerTask: 4, seed: 5 });
    await trainInDir(config, dir);
    await page.setInputFiles('#adapt-files', [join(dir, RUN_FILES.config), join(dir, RUN_FILES.checkpoint)]);
    await page.waitForFunction(() => /^(done|error)/.test(document.querySelector('[data-testid="adapt-status"]')!.textContent!), null, { timeout: 150_000 });
    expect(await text(page, 'adapt-status'), logs.join('\n')).toMatch(/^done in/);
    expect(await text(page, 'adapt-returns')).toBe(await nodeReturns(readRunConfig(dir), readCheckpoint(dir)));
    expect(await page.locator('#adapt-curve svg').count()).toBe(0); // nothing trained here
    await page.locator('#adaptation').screenshot({ path: join(DOCS, 'explorer-adaptation.png') });
  }, 200_000);
});
