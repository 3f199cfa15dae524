/**
 * The explorer page: three panels that ask the engine's Web Worker (engine.worker.ts) and draw its
 * answers. The page itself never computes anything heavier than a preset.
 */
import { randomTabular, validateTabular, type TabularSpec } from '@metagrad/rl/tabular';
import { heatmaps, matmulChart, paramLabel, render, returnsChart, varianceChart } from './charts.js';
import { explorationSpec } from '../../cli/src/report/exploration.js';
import { fmtEntry, fmtRatio, fmtRel, fmtValue } from './format.js';
import { ADAPT_ALGOS, ADAPT_BASE, EVAL, PRESETS } from './presets.js';
import type { Adaptation, Analysis, EngineReport, Reply, Request, VarianceRow } from './protocol.js';

// ---------------------------------------------------------------- the worker
const worker = new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module' });
let nextId = 1;
const pending = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void; progress?: (done: number, total: number, text?: string) => void }>();
worker.onmessage = (e: MessageEvent<Reply>) => {
  const r = e.data, p = pending.get(r.id);
  if (!p) return;
  if (r.type === 'progress') p.progress?.(r.done, r.total, r.text);
  else {
    pending.delete(r.id);
    if (r.type === 'result') p.resolve(r.result);
    else p.reject(new Error(r.message));
  }
};
/** A request without its id (distributive over the union). */
type Body = Request extends infer R ? (R extends Request ? Omit<R, 'id'> : never) : never;
function ask<T>(body: Body, progress?: (done: number, total: number, text?: string) => void): Promise<T> {
  const id = nextId++;
  return new Promise<T>((resolve, reject) => {
    pending.set(id, { resolve: resolve as (r: unknown) => void, reject, progress });
    worker.postMessage({ ...body, id });
  });
}

// ---------------------------------------------------------------- helpers
const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;
const plain = (m: TabularSpec): TabularSpec => ({
  S: m.S, A: m.A, H: m.H, init: Array.from(m.init), P: Array.from(m.P, (ps) => Array.from(ps, (p) => Array.from(p))), R: Array.from(m.R, (r) => Array.from(r)),
});
function setText(testid: string, text: string): void {
  document.querySelector<HTMLElement>(`[data-testid="${testid}"]`)!.textContent = text;
}

// ---------------------------------------------------------------- 1. decomposition
let mdp: TabularSpec;
let theta: number[];
let inFlight = false, dirty = false;

function showMdp(): void {
  $<HTMLTextAreaElement>('mdp-init').value = JSON.stringify(mdp.init);
  $<HTMLTextAreaElement>('mdp-P').value = JSON.stringify(mdp.P);
  $<HTMLTextAreaElement>('mdp-R').value = JSON.stringify(mdp.R);
  $<HTMLInputElement>('mdp-S').value = String(mdp.S);
  $<HTMLInputElement>('mdp-A').value = String(mdp.A);
  $<HTMLInputElement>('mdp-H').value = String(mdp.H);
}

function buildSliders(): void {
  const box = $('theta-sliders');
  box.replaceChildren();
  box.style.gridTemplateColumns = `repeat(${mdp.A}, minmax(9rem, 1fr))`;
  theta.forEach((v, i) => {
    const label = document.createElement('label');
    const name = document.createElement('span');
    name.textContent = paramLabel(i, mdp.A);
    const input = document.createElement('input');
    Object.assign(input, { type: 'range', min: '-4', max: '4', step: '0.01', value: String(v) });
    input.dataset.testid = `theta-${Math.floor(i / mdp.A)}-${i % mdp.A}`;
    const out = document.createElement('output');
    out.textContent = v.toFixed(2);
    input.addEventListener('input', () => {
      theta[i] = Number(input.value);
      out.textContent = theta[i]!.toFixed(2);
      requestAnalysis();
    });
    label.append(name, input, out);
    box.append(label);
  });
}

function load(next: { mdp: TabularSpec; theta: number[] }): void {
  mdp = plain(next.mdp);
  theta = [...next.theta];
  showMdp();
  buildSliders();
  requestAnalysis();
}

/** Latest wins: while a request runs, further changes wait and only the newest θ is sent next. */
function requestAnalysis(): void {
  if (inFlight) {
    dirty = true;
    return;
  }
  inFlight = true;
  dirty = false;
  $('decomp-status').textContent = 'computing…';
  ask<Analysis>({ type: 'analyze', mdp, theta: [...theta] })
    .then(showAnalysis)
    .catch((e: Error) => {
      $('decomp-status').textContent = `error: ${e.message}`;
    })
    .finally(() => {
      inFlight = false;
      if (dirty) requestAnalysis();
    });
}

function showAnalysis(a: Analysis): void {
  setText('j-value', fmtValue(a.J));
  setText('identity-residual', fmtRel(a.residual));
  setText('lvc-bias', fmtRatio(a.lvcBias));
  setText('dice-bias', fmtRel(a.diceBias));
  setText('variance-ratio', fmtRatio(a.varianceRatio));
  $('decomp-status').textContent = `${a.trajectories.toLocaleString('en-US')} trajectories, ${a.method} computed in ${a.ms.toFixed(0)} ms`;
  $('grad-table').innerHTML = `<tr>${a.grad.map((_, i) => `<th>${paramLabel(i, a.A)}</th>`).join('')}</tr><tr>${a.grad.map((g) => `<td>${fmtEntry(g)}</td>`).join('')}</tr>`;
  void render($('decomp-heatmaps'), heatmaps([
    { title: '∇²J (autodiff)', values: a.hessian },
    { title: 'H1 (Eq. 36)', values: a.H1 },
    { title: 'H2 (Eq. 37)', values: a.H2 },
    { title: 'H12 (Eq. 38)', values: a.H12 },
    { title: 'E[∇² DiCE] = ∇²J', values: a.diceHessianMean },
    { title: 'E[∇² LVC] = H1 + H2', values: a.lvcHessianMean },
  ], a.A));
}

function applyEdits(): void {
  try {
    const next: TabularSpec = {
      S: Number($<HTMLInputElement>('mdp-S').value), A: Number($<HTMLInputElement>('mdp-A').value), H: Number($<HTMLInputElement>('mdp-H').value),
      init: JSON.parse($<HTMLTextAreaElement>('mdp-init').value), P: JSON.parse($<HTMLTextAreaElement>('mdp-P').value), R: JSON.parse($<HTMLTextAreaElement>('mdp-R').value),
    };
    validateTabular(next, 'MDP');
    if (next.S * next.A > 9 || next.H > 6) throw new Error('keep S·A ≤ 9 and H ≤ 6 (the enumeration grows as (S·A)^H)');
    const keep = next.S === mdp.S && next.A === mdp.A;
    load({ mdp: next, theta: keep ? theta : new Array<number>(next.S * next.A).fill(0) });
    $('mdp-error').textContent = '';
  } catch (e) {
    $('mdp-error').textContent = e instanceof Error ? e.message : String(e);
  }
}

function randomMdp(): void {
  const S = Number($<HTMLInputElement>('mdp-S').value), A = Number($<HTMLInputElement>('mdp-A').value), H = Number($<HTMLInputElement>('mdp-H').value);
  const seed = Number($<HTMLInputElement>('mdp-seed').value);
  try {
    if (![S, A, H, seed].every(Number.isInteger) || S < 1 || A < 1 || H < 1 || S > 3 || A > 3 || H > 6) throw new Error('S, A ∈ 1 … 3, H ∈ 1 … 6 and an integer seed');
    const r = randomTabular(seed, S, A, H);
    load({ mdp: r.mdp, theta: Array.from(r.theta.data) });
    $('mdp-error').textContent = '';
  } catch (e) {
    $('mdp-error').textContent = e instanceof Error ? e.message : String(e);
  }
}

// ---------------------------------------------------------------- 2. variance
async function runVariance(): Promise<void> {
  const list = (id: string): number[] => $<HTMLInputElement>(id).value.split(',').map((s) => Number(s.trim()));
  const num = (id: string): number => Number($<HTMLInputElement>(id).value);
  const bar = $<HTMLProgressElement>('variance-progress');
  const button = $<HTMLButtonElement>('variance-run');
  button.disabled = true;
  setText('variance-status', 'running…');
  const t0 = performance.now();
  try {
    const rows = await ask<VarianceRow[]>(
      { type: 'variance', mdp, theta: [...theta], batchSizes: list('var-batches'), repeats: num('var-repeats'), nPost: num('var-npost'), alpha: num('var-alpha'), seed: num('var-seed') },
      (done, total) => {
        bar.max = total;
        bar.value = done;
      },
    );
    const sizes = [...new Set(rows.map((r) => r.nPre))];
    $('variance-table').innerHTML = `<tr><th>trajectories</th><th>DiCE rel. std</th><th>LVC rel. std</th><th>DiCE / LVC</th></tr>${sizes.map((n) => {
      const d = rows.find((r) => r.nPre === n && r.estimator === 'dice')!.relStd, l = rows.find((r) => r.nPre === n && r.estimator === 'lvc')!.relStd;
      return `<tr><td>${n}</td><td>${fmtEntry(d)}</td><td>${fmtEntry(l)}</td><td>${(d / l).toFixed(2)}</td></tr>`;
    }).join('')}`;
    await render($('variance-chart'), varianceChart(rows));
    setText('variance-status', `done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } catch (e) {
    setText('variance-status', `error: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- 3. engine
async function runEngine(): Promise<void> {
  const sizes = $<HTMLInputElement>('engine-sizes').value.split(',').map((s) => Number(s.trim()));
  const bar = $<HTMLProgressElement>('engine-progress');
  const button = $<HTMLButtonElement>('engine-run');
  button.disabled = true;
  setText('backend-mode', 'measuring…');
  setText('engine-status', '');
  try {
    const r = await ask<EngineReport>({ type: 'engine', sizes }, (done, total) => {
      bar.max = total;
      bar.value = done;
    });
    setText('backend-mode', r.mode);
    $('engine-info').textContent = `${r.isGpu ? (r.software ? 'a GPU API on a software renderer' : 'a hardware GPU') : 'no GPU API'}${r.renderer ? ` (${r.renderer})` : ''}. ${r.reason}. Large float32 matmuls: ${r.float32}. CPU kernel: ${r.cpuKernel}.`;
    $('engine-table').innerHTML = `<tr><th>n</th><th>cpu (${r.cpuKernel}) GFLOP/s</th><th>gpu.js (${r.mode}) GFLOP/s</th><th>max |gpu.js − cpu| / max |cpu|</th></tr>${r.rows.map((x) =>
      `<tr><td>${x.n}</td><td>${x.cpuGflops.toFixed(2)}</td><td>${x.gpujsGflops === null ? '—' : x.gpujsGflops.toFixed(2)}</td><td data-testid="matmul-diff-${x.n}">${x.maxRelDiff === null ? '—' : x.maxRelDiff.toExponential(2)}</td></tr>`).join('')}`;
    await render($('engine-chart'), matmulChart(r.rows.flatMap((x) => [
      { n: x.n, backend: `cpu (${r.cpuKernel})`, gflops: x.cpuGflops },
      ...(x.gpujsGflops === null ? [] : [{ n: x.n, backend: `gpu.js ${r.mode}`, gflops: x.gpujsGflops }]),
    ])));
    setText('engine-status', 'done');
  } catch (e) {
    setText('backend-mode', 'error');
    setText('engine-status', `error: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- 4. adaptation

async function adapt(body: Extract<Body, { type: 'train' | 'evaluate' }>): Promise<void> {
  const bar = $<HTMLProgressElement>('adapt-progress');
  const button = $<HTMLButtonElement>('adapt-train');
  button.disabled = true;
  setText('adapt-status', body.type === 'train' ? 'training…' : 'evaluating the checkpoint…');
  try {
    const r = await ask<Adaptation>(body, (done, total, note) => {
      bar.max = total;
      bar.value = done;
      if (note) setText('adapt-status', note);
    });
    const ret = r.evalReturns;
    setText('adapt-returns', `${ret[0]!.toFixed(3)} → ${ret.at(-1)!.toFixed(3)}`);
    $('adapt-curve').style.display = r.records.length ? '' : 'none'; // a dropped checkpoint has no training curve here
    if (r.records.length) await render($('adapt-curve'), returnsChart(r.records));
    else $('adapt-curve').replaceChildren();
    const c = r.config as { algo: string; env: string; iterations: number; seed: number };
    await render($('adapt-trajectories'), explorationSpec([r.panel], {
      title: `${c.algo} on ${c.env}: exploration and adaptation`, subtitle: `fresh task with the median post-update return (${EVAL.evalTasks} tasks, seed ${EVAL.evalSeed})`, size: 300,
    }));
    setText('adapt-status', `done in ${r.seconds.toFixed(1)} s`);
  } catch (e) {
    setText('adapt-status', `error: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    button.disabled = false;
  }
}

function trainHere(): void {
  const num = (id: string): number => Number($<HTMLInputElement>(id).value);
  void adapt({
    type: 'train', ...EVAL,
    config: {
      ...ADAPT_BASE, algo: $<HTMLSelectElement>('adapt-algo').value, env: $<HTMLSelectElement>('adapt-env').value,
      iterations: num('adapt-iterations'), metaBatchSize: num('adapt-tasks'), rolloutsPerTask: num('adapt-rollouts'), seed: num('adapt-seed'),
    },
  });
}

/** A run directory's config.json and checkpoint.json (chosen or dropped, in any order). */
async function fromFiles(files: FileList | File[]): Promise<void> {
  const list = Array.from(files);
  setText('adapt-status', `reading ${list.map((f) => f.name).join(', ')}…`);
  const read = async (name: string): Promise<unknown> => {
    const f = list.find((x) => x.name === name);
    if (!f) throw new Error(`choose or drop both config.json and checkpoint.json of a run directory (missing ${name})`);
    return JSON.parse(await f.text());
  };
  try {
    const { meta: _meta, $schema: _s, ...config } = (await read('config.json')) as Record<string, unknown>;
    await adapt({ type: 'evaluate', ...EVAL, config, checkpoint: await read('checkpoint.json') });
  } catch (e) {
    setText('adapt-status', `error: ${e instanceof Error ? e.message : String(e)}`);
  }
}

// ---------------------------------------------------------------- wiring
const algoSelect = $<HTMLSelectElement>('adapt-algo');
ADAPT_ALGOS.forEach((a) => algoSelect.add(new Option(a, a)));
$('adapt-train').addEventListener('click', trainHere);
$<HTMLInputElement>('adapt-files').addEventListener('change', (e) => void fromFiles((e.target as HTMLInputElement).files ?? []));
const dropZone = $('adaptation');
dropZone.addEventListener('dragover', (e) => e.preventDefault());
dropZone.addEventListener('drop', (e) => {
  e.preventDefault();
  if (e.dataTransfer?.files.length) void fromFiles(e.dataTransfer.files);
});
const presetSelect = $<HTMLSelectElement>('preset');
PRESETS.forEach((p, i) => presetSelect.add(new Option(p.name, String(i))));
presetSelect.addEventListener('change', () => {
  const p = PRESETS[Number(presetSelect.value)]!;
  $('preset-note').textContent = p.note;
  load(p.make());
});
$('mdp-apply').addEventListener('click', applyEdits);
$('mdp-random').addEventListener('click', randomMdp);
$('variance-run').addEventListener('click', () => void runVariance());
$('engine-run').addEventListener('click', () => void runEngine());
$('preset-note').textContent = PRESETS[0]!.note;
load(PRESETS[0]!.make());
(window as unknown as { explorerReady: boolean }).explorerReady = true;
