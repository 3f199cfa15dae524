/**
 * gpu.js's webgpu mode behind the engine's synchronous matmul (Node).
 *
 * gpu.js's WebGPU kernels are asynchronous (results come back through `mapAsync`), and every matmul
 * of the engine is synchronous. So one worker thread owns the WebGPU device and the gpu.js kernels;
 * the calling thread copies A and B into shared memory, posts the product's shape, and blocks
 * (`Atomics.wait`) until the worker has run the kernel, read the result back into shared memory and
 * notified. A product runs as: copy in, one dispatch, one readback, copy out.
 *
 * WebGPU in Node is Dawn, from the optional `webgpu` package (0.3.x; 0.2.x needs a newer libstdc++
 * than Debian 12 has), on the machine's Vulkan driver. `METAGRAD_VULKAN_ICD` points the Vulkan loader at
 * another driver: a path to its ICD json (it becomes VK_ICD_FILENAMES), or `swiftshader` for
 * the software driver Chromium ships (found in Chromium's folder). When the ICD's folder holds its own
 * Vulkan loader (libvulkan.so.1, as Chromium's does) and the system has none, that loader is preloaded,
 * so nothing but Chromium is needed.
 *
 * Like threads.ts, this file imports nothing from Node (it reaches `node:*` through
 * `process.getBuiltinModule`) and writes the worker's source as a string, so the engine still bundles
 * for the browser; there, webgpu is reported unavailable with the reason.
 */
import { envSetting } from '../../settings.js';

/** The WebGPU adapter the worker found. */
export interface WebgpuAdapter {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A short name for reports: 'SwiftShader', 'lavapipe', or the description / vendor and architecture. */
  name: string;
  /** true for CPU implementations of Vulkan (SwiftShader, lavapipe/llvmpipe) and fallback adapters. */
  software: boolean;
  /** The Vulkan ICD (driver manifest) in use when METAGRAD_VULKAN_ICD chose one, else null (the system's). */
  icd: string | null;
}

interface NodeWorker {
  unref(): void;
  postMessage(msg: unknown): void;
  on(event: 'exit' | 'error', listener: (x: unknown) => void): void;
  terminate(): Promise<number>;
}
interface NodeProcess {
  env: Record<string, string | undefined>;
  platform?: string;
  getBuiltinModule?(id: string): unknown;
  dlopen?(module: { exports: unknown }, filename: string, flags?: number): void;
  on?(event: 'exit', listener: () => void): void;
}
type Require = { (id: string): unknown; resolve(id: string): string };

/** Control slots: STATE, the worker's answer to the current request (PENDING, OK, FAILED); SEQ, the request count (-1: stop). */
const STATE = 0, SEQ = 1, PENDING = 0, OK = 1, FAILED = 2;
/** How long stopping may take (the worker destroys its kernels and device). */
const STOP_MS = 5_000;
/** Bytes for the worker's answer text (adapter json or error). */
const MESSAGE_BYTES = 16_384;
/** How long starting may take (loading Dawn, asking for an adapter and a device). */
const START_MS = 30_000;
/** How long one product may take: a 4096³ product on SwiftShader with 2 cores takes minutes. */
const RUN_MS = 1_200_000;
/** glibc's RTLD_NODELETE, which Node's os.constants.dlopen does not list. */
const RTLD_NOW = 2, RTLD_GLOBAL = 0x100, RTLD_NODELETE = 0x1000;
/** Where Chromium's SwiftShader Vulkan driver lives on Debian, Ubuntu and Google Chrome installs. */
const SWIFTSHADER_ICDS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/opt/google/chrome/vk_swiftshader_icd.json',
];
const SOFTWARE = /swiftshader|lavapipe|llvmpipe|softpipe|software/i;

/**
 * The worker: loads Dawn and gpu.js by the paths the caller resolved, asks for an adapter, then
 * serves products. Requests arrive as messages; answers go through shared memory (the caller is blocked
 * and cannot receive messages). Each distinct (shape, flags) gets one gpu.js kernel, built on its first
 * product from the source the caller sends, and kept (at most `maxPlans`, least recently used dropped).
 */
const WORKER_SOURCE = `
const { workerData, parentPort } = process.getBuiltinModule('node:worker_threads');
const { createRequire } = process.getBuiltinModule('node:module');
const ctl = new Int32Array(workerData.ctl);
const text = new Uint8Array(workerData.message);
const answer = (state, s) => {
  const bytes = new TextEncoder().encode(String(s)).subarray(0, text.length - 1);
  text.set(bytes);
  text[bytes.length] = 0;
  Atomics.store(ctl, ${STATE}, state);
  Atomics.notify(ctl, ${STATE});
};
const errorText = (e) => String((e && e.message) || e);
const nextMessage = () => new Promise((resolve) => parentPort.once('message', resolve));
let data = null, gpu = null, Input = null, device = null;
const plans = new Map();
const staging = { buffer: null, size: 0 };
async function start() {
  const wg = await import(workerData.webgpuUrl);
  Object.assign(globalThis, wg.globals);
  const api = wg.create([]);
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: api }, configurable: true, writable: true });
  const adapter = await api.requestAdapter();
  if (!adapter) throw new Error('no adapter');
  const i = adapter.info || {};
  const gpujs = createRequire(workerData.gpujsPath)(workerData.gpujsPath);
  Input = gpujs.Input;
  gpu = new gpujs.GPU({ mode: 'webgpu' });
  return { vendor: i.vendor || '', architecture: i.architecture || '', device: i.device || '', description: i.description || '',
    fallback: Boolean(i.isFallbackAdapter || adapter.isFallbackAdapter) };
}
async function run(req) {
  if (req.data) data = new Float32Array(req.data);
  let plan = plans.get(req.key);
  if (plan) plans.delete(req.key);
  else {
    plan = gpu.createKernel(req.source, { output: req.output, constants: req.constants, pipeline: true, precision: 'single', loopMaxIterations: req.constants.K });
    while (plans.size >= workerData.maxPlans) {
      const [oldest, k] = plans.entries().next().value;
      k.destroy();
      plans.delete(oldest);
    }
  }
  plans.set(req.key, plan);
  const a = new Input(data.subarray(0, req.lenA), req.sizeA);
  const b = new Input(data.subarray(req.lenA, req.lenA + req.lenB), req.sizeB);
  const result = await plan(a, b);
  device = result.context.device;
  const bytes = req.lenOut * 4;
  if (staging.size < bytes) {
    if (staging.buffer) staging.buffer.destroy();
    staging.buffer = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    staging.size = bytes;
  }
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(result.buffer, 0, staging.buffer, 0, bytes);
  device.queue.submit([encoder.finish()]);
  await staging.buffer.mapAsync(GPUMapMode.READ, 0, bytes);
  data.set(new Float32Array(staging.buffer.getMappedRange(0, bytes)), req.lenA + req.lenB);
  staging.buffer.unmap();
}
function release() {
  for (const k of plans.values()) k.destroy();
  plans.clear();
  if (staging.buffer) staging.buffer.destroy();
  if (device) device.destroy();
  delete globalThis.navigator;
}
// Between products the thread sleeps in Atomics.wait: while a device lives, Dawn polls from the event
// loop without pause, which would keep a core busy. A request is a message, posted before the wake-up.
async function serve() {
  let seen = 0;
  for (;;) {
    Atomics.wait(ctl, ${SEQ}, seen);
    seen = Atomics.load(ctl, ${SEQ});
    if (seen < 0) break;
    const req = await nextMessage();
    try {
      await run(req);
      answer(${OK}, '');
    } catch (e) {
      answer(${FAILED}, errorText(e));
    }
  }
  try { release(); } catch {}
  parentPort.close();
  answer(${OK}, 'stopped');
}
start().then((info) => {
  answer(${OK}, JSON.stringify(info));
  return serve();
}, (e) => {
  delete globalThis.navigator;
  parentPort.close();
  answer(${FAILED}, errorText(e));
});
`;

/** One product for the worker: op(A)·op(B) with the kernel `source`, output `lenOut` floats. */
export interface WebgpuJob {
  /** Identifies the compiled kernel (shape and flags). */
  key: string;
  /** gpu.js kernel source, used the first time `key` is seen. */
  source: string;
  /** gpu.js output dimensions [x, y, z]. */
  output: number[];
  constants: Record<string, number>;
  /** Input dimensions (gpu.js order: innermost first) of A and B. */
  sizeA: number[];
  sizeB: number[];
  /** The floats the kernel writes (all components). */
  lenOut: number;
}

interface Bridge {
  worker: NodeWorker;
  ctl: Int32Array;
  /** Requests sent so far. */
  seq: number;
  text: Uint8Array;
  data: Float32Array;
  dead: string | null;
  adapter: WebgpuAdapter;
}

let bridge: Bridge | null = null;
/** Whether stopWebgpu is registered to run at process exit. */
let exitHook = false;
/** Why the last start failed; starting is not retried until {@link stopWebgpu}. */
let failure: string | null = null;

const nodeProcess = (): NodeProcess | undefined => (globalThis as { process?: NodeProcess }).process;

function readText(text: Uint8Array): string {
  const end = text.indexOf(0);
  return new TextDecoder().decode(text.slice(0, end < 0 ? text.length : end));
}

/** Blocks until the worker answers or `ms` pass; returns the answer's state. */
function waitAnswer(b: { ctl: Int32Array; dead: string | null }, ms: number, what: string): number {
  const t0 = Date.now();
  while (Atomics.load(b.ctl, STATE) === PENDING) {
    if (b.dead) throw new Error(`webgpu worker: ${b.dead}`);
    if (Date.now() - t0 > ms) throw new Error(`webgpu worker: ${what} did not finish within ${ms / 1000} s`);
    Atomics.wait(b.ctl, STATE, PENDING, 200);
  }
  return Atomics.load(b.ctl, STATE);
}

/** The Vulkan ICD METAGRAD_VULKAN_ICD names (a json path, or 'swiftshader'), or null for the system's. */
function chooseIcd(proc: NodeProcess, fs: { existsSync(p: string): boolean }): string | null {
  const want = envSetting('METAGRAD_VULKAN_ICD');
  if (want === undefined) return null;
  if (want.toLowerCase() === 'swiftshader') {
    const found = SWIFTSHADER_ICDS.find((p) => fs.existsSync(p));
    if (!found) throw new Error(`webgpu: METAGRAD_VULKAN_ICD=swiftshader, but Chromium's SwiftShader Vulkan driver was not found (looked at ${SWIFTSHADER_ICDS.join(', ')}; Debian: apt-get install chromium)`);
    proc.env.VK_ICD_FILENAMES = found; // read by the Vulkan loader when Dawn creates its instance
    return found;
  }
  if (!fs.existsSync(want)) throw new Error(`webgpu: METAGRAD_VULKAN_ICD=${want}: no such file (give the path of a Vulkan ICD json, or 'swiftshader')`);
  proc.env.VK_ICD_FILENAMES = want;
  return want;
}

/**
 * Whether the system's Vulkan loader (libvulkan.so.1) loads; if not and `icd`'s folder has one
 * (Chromium's layout), preloads that one, kept loaded (RTLD_NODELETE) so Dawn's later dlopen of the
 * same soname finds it. Returns a reason when there is no loader at all.
 */
function ensureVulkanLoader(proc: NodeProcess, fs: { existsSync(p: string): boolean }, icd: string | null): string | null {
  if (proc.platform !== 'linux' || !proc.dlopen) return null; // Dawn uses the platform's own API elsewhere
  const tryOpen = (file: string): string | null => {
    try {
      proc.dlopen!({ exports: {} }, file, RTLD_NOW | RTLD_GLOBAL | RTLD_NODELETE);
      return null;
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      // it loaded, but is no Node addon: exactly what preloading wants
      return /self-register|napi_register|Module did not/.test(msg) ? null : msg.split('\n')[0]!;
    }
  };
  const system = tryOpen('libvulkan.so.1');
  if (system === null) return null;
  const local = icd ? `${icd.slice(0, icd.lastIndexOf('/'))}/libvulkan.so.1` : null;
  if (local && fs.existsSync(local) && tryOpen(local) === null) return null;
  return `no Vulkan loader (${system}; install the system's Vulkan loader, Debian: libvulkan1, and a driver, or set METAGRAD_VULKAN_ICD=swiftshader with Chromium installed)`;
}

function shortName(a: Omit<WebgpuAdapter, 'name' | 'software' | 'icd'>): string {
  const all = `${a.vendor} ${a.architecture} ${a.device} ${a.description}`;
  if (/swiftshader/i.test(all)) return 'SwiftShader';
  if (/lavapipe|llvmpipe/i.test(all)) return 'lavapipe';
  return a.description || [a.vendor, a.architecture].filter((x) => x).join(' ') || 'unnamed adapter';
}

/**
 * Starts the webgpu worker once (synchronously: blocks until Dawn has answered with an adapter) and
 * returns the adapter. Throws an Error naming what is missing: not Node, the `webgpu` or `gpu.js`
 * package not loadable (with the loader's own error), no Vulkan loader, or no adapter (no Vulkan
 * driver that Dawn accepts). A failure is remembered: later calls throw the same until {@link stopWebgpu}.
 */
export function startWebgpu(): WebgpuAdapter {
  if (bridge && !bridge.dead) return bridge.adapter;
  if (failure) throw new Error(failure);
  try {
    bridge = launch();
    return bridge.adapter;
  } catch (e) {
    failure = e instanceof Error ? e.message : String(e);
    bridge = null;
    throw new Error(failure);
  }
}

function launch(): Bridge {
  const proc = nodeProcess();
  const modules = proc?.getBuiltinModule;
  if (!proc || !modules || typeof SharedArrayBuffer === 'undefined') {
    throw new Error('webgpu: the synchronous webgpu matmul runs in Node ≥ 20.16 (a worker thread owns the device); in a browser, gpu.js runs on WebGL2');
  }
  const wt = modules('node:worker_threads') as { Worker: new (src: string, o: object) => NodeWorker };
  const mod = modules('node:module') as { createRequire(from: string): Require };
  const fs = modules('node:fs') as { existsSync(p: string): boolean };
  const url = modules('node:url') as { pathToFileURL(p: string): { href: string } };
  const req = mod.createRequire(import.meta.url);
  let gpujsPath: string, webgpuUrl: string;
  try {
    gpujsPath = req.resolve('gpu.js');
  } catch (e) {
    throw new Error(`webgpu: the optional package gpu.js is not installed (${String(e).split('\n')[0]})`);
  }
  try {
    webgpuUrl = url.pathToFileURL(req.resolve('webgpu')).href;
  } catch (e) {
    throw new Error(`webgpu: the optional package webgpu (Dawn for Node) is not installed: npm install webgpu@0.3.10 (${String(e).split('\n')[0]})`);
  }
  const icd = chooseIcd(proc, fs);
  const noLoader = ensureVulkanLoader(proc, fs, icd);
  if (noLoader) throw new Error(`webgpu: ${noLoader}`);
  const ctlBuf = new SharedArrayBuffer(16);
  const message = new SharedArrayBuffer(MESSAGE_BYTES);
  const worker = new wt.Worker(WORKER_SOURCE, { eval: true, workerData: { ctl: ctlBuf, message, gpujsPath, webgpuUrl, maxPlans: 24 } });
  worker.unref();
  if (!exitHook) {
    exitHook = true;
    proc.on?.('exit', stopWebgpu);
  }
  const b: Omit<Bridge, 'adapter'> = { worker, ctl: new Int32Array(ctlBuf), seq: 0, text: new Uint8Array(message), data: new Float32Array(0), dead: null };
  worker.on('error', (e) => { b.dead = `the worker thread failed: ${String(e)}`; });
  worker.on('exit', (code) => { b.dead ??= `the worker thread exited (code ${String(code)})`; });
  let state: number;
  try {
    state = waitAnswer(b, START_MS, 'loading Dawn and requesting an adapter');
  } catch (e) {
    void worker.terminate(); // it never answered: no device to release
    throw e;
  }
  if (state !== OK) {
    const why = readText(b.text);
    if (why === 'no adapter') {
      throw new Error(`webgpu: Dawn (the webgpu package) loaded, but no adapter answered: no Vulkan driver that Dawn accepts${icd ? ` at ${icd}` : ' (install one, or set METAGRAD_VULKAN_ICD to an ICD json or to swiftshader)'}`);
    }
    throw new Error(`webgpu: the webgpu package did not load or start (${why})`);
  }
  const info = JSON.parse(readText(b.text)) as Omit<WebgpuAdapter, 'name' | 'software' | 'icd'> & { fallback: boolean };
  const adapter: WebgpuAdapter = {
    vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description,
    name: shortName(info),
    software: info.fallback || SOFTWARE.test(`${info.vendor} ${info.architecture} ${info.device} ${info.description}`),
    icd,
  };
  return Object.assign(b, { adapter }); // the same object the worker's listeners mark dead
}

/**
 * Runs one product on the webgpu worker, synchronously: A (`a`) and B (`b`) are copied into shared
 * memory, the kernel for `job.key` runs, and the `job.lenOut` floats it wrote are returned (a view
 * of shared memory, valid until the next call). Starts the worker if needed.
 */
export function runWebgpu(job: WebgpuJob, a: Float32Array, b: Float32Array): Float32Array {
  startWebgpu();
  const br = bridge!;
  const need = a.length + b.length + job.lenOut;
  let grown: SharedArrayBuffer | undefined;
  if (br.data.length < need) {
    grown = new SharedArrayBuffer(4 * Math.max(need, 2 * br.data.length));
    br.data = new Float32Array(grown);
  }
  br.data.set(a, 0);
  br.data.set(b, a.length);
  Atomics.store(br.ctl, STATE, PENDING);
  const { key, source, output, constants, sizeA, sizeB, lenOut } = job;
  br.worker.postMessage({ key, source, output, constants, sizeA, sizeB, lenOut, lenA: a.length, lenB: b.length, data: grown });
  Atomics.store(br.ctl, SEQ, ++br.seq); // wakes the sleeping worker, which then takes the message
  Atomics.notify(br.ctl, SEQ);
  if (waitAnswer(br, RUN_MS, `the product ${key}`) !== OK) throw new Error(`webgpu matmul ${key}: ${readText(br.text)}`);
  return br.data.subarray(a.length + b.length, need);
}

/** The adapter when the worker is running, else null; and why starting failed, if it did. */
export function webgpuState(): { adapter: WebgpuAdapter | null; failure: string | null } {
  return { adapter: bridge && !bridge.dead ? bridge.adapter : null, failure };
}

/**
 * Stops the worker and forgets a failed start, so the next use starts afresh. Synchronous: the worker
 * destroys its kernels and device and exits by itself (terminating a thread that holds a Dawn device
 * aborts the process), and the caller waits for that. Also run at process exit.
 */
export function stopWebgpu(): void {
  const br = bridge;
  bridge = null;
  failure = null;
  if (!br || br.dead) return;
  Atomics.store(br.ctl, STATE, PENDING);
  Atomics.store(br.ctl, SEQ, -1);
  Atomics.notify(br.ctl, SEQ);
  try {
    waitAnswer(br, STOP_MS, 'releasing its device');
  } catch {
    // it has gone already, or is stuck in a product: nothing more to do from here
  }
  br.dead = 'stopped';
}

/** One line on the webgpu route: the adapter when the worker runs, why it does not, or that it was not tried. */
export function webgpuLine(): string {
  const { adapter, failure } = webgpuState();
  if (adapter) return `webgpu (${adapter.name}, ${adapter.software ? 'software' : 'hardware GPU'}): adapter '${adapterText(adapter)}' through Dawn on Vulkan${adapter.icd ? ` (ICD ${adapter.icd})` : ''}`;
  if (failure) return failure;
  return "webgpu: not started (setGpujsMode('webgpu') starts it)";
}

/** The adapter's fields joined for reading. */
export function adapterText(a: { vendor: string; architecture: string; device: string; description: string }): string {
  return [a.vendor, a.architecture, a.device, a.description].filter((x) => x).join(' | ');
}
