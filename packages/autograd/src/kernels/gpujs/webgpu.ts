/**
 * gpu.js's webgpu mode behind the engine's synchronous matmul.
 *
 * gpu.js's WebGPU kernels are asynchronous (results come back through `mapAsync`), and every matmul
 * of the engine is synchronous. So one other thread, the *host*, owns the WebGPU device and the gpu.js
 * kernels; the engine's thread copies A and B into shared memory, posts the product's shape, and blocks
 * (`Atomics.wait`) until the host has run the kernel, read the result back into shared memory and
 * notified. A product runs as: copy in, one dispatch, one readback, copy out. The host is the same code
 * ({@link webgpuHost}) in both places it runs:
 *
 * - Node: a worker thread started here. WebGPU is Dawn, from the optional `webgpu` package (0.3.x; 0.2.x
 *   needs a newer libstdc++ than Debian 12 has), on the machine's Vulkan driver. `METAGRAD_VULKAN_ICD`
 *   points the Vulkan loader at another driver: a path to its ICD json (it becomes VK_ICD_FILENAMES), or
 *   `swiftshader` for the software driver Chromium ships. When the ICD's folder holds its own Vulkan
 *   loader (libvulkan.so.1, as Chromium's does) and the system has none, that loader is preloaded.
 * - Browser: a browser's main thread may not block, so the engine runs in a Web Worker and the page
 *   serves WebGPU to it over a MessagePort: `serveWebgpu(port)` on the page, `connectWebgpu(port)` in the
 *   worker; the page must be cross-origin isolated (SharedArrayBuffer).
 *
 * This file imports nothing from Node (it reaches `node:*` through `process.getBuiltinModule`) and gives
 * the Node worker its source as text, so the engine bundles for the browser.
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
  /** The Vulkan ICD (driver manifest) in use when METAGRAD_VULKAN_ICD chose one, else null (the system's, or a browser's). */
  icd: string | null;
  /** How it is reached: 'Dawn on Vulkan' (Node) or "the page's navigator.gpu" (browser). */
  via: string;
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
/** Kernels a host keeps (least recently used destroyed). */
const MAX_PLANS = 24;
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

/** A product as the host receives it: the job, where A and B are in shared memory, and a new data buffer when it grew. */
interface HostRequest extends WebgpuJob {
  lenA: number;
  lenB: number;
  data?: SharedArrayBuffer;
}

/** What the host needs from where it runs (a Node worker thread, or a browser page). */
interface HostIO {
  /** navigator.gpu, or Dawn's equivalent. */
  api: { requestAdapter(): Promise<unknown> };
  /** The gpu.js module (GPU, Input). */
  gpujs: unknown;
  /** Writes the answer to the current request into shared memory and wakes the engine's thread. */
  answer(ok: boolean, text: string): void;
  /** The next product; null to stop. */
  next(): Promise<HostRequest | null>;
  /** Lets go of the channel (and, in Node, of Dawn). */
  close(): void;
  /** Most kernels kept; the least recently used is destroyed. */
  maxPlans: number;
}

/**
 * The host: asks for an adapter (the first answer is its description as JSON, or why there is none),
 * then serves products until told to stop, and destroys its kernels and device. Each distinct (shape,
 * flags) gets one gpu.js kernel, built on its first product from the source the engine sends. The
 * output is read back from gpu.js's pipeline buffer by one copy into a reused staging buffer, straight
 * into shared memory. Written to close over nothing (no imports, no module constants): the Node worker
 * receives it as source text.
 */
async function webgpuHost(io: HostIO): Promise<void> {
  type Buffer = { destroy(): void; mapAsync(mode: number, offset: number, size: number): Promise<void>; getMappedRange(offset: number, size: number): ArrayBuffer; unmap(): void };
  type Device = {
    createBuffer(d: { size: number; usage: number }): Buffer;
    createCommandEncoder(): { copyBufferToBuffer(a: Buffer, ao: number, b: Buffer, bo: number, n: number): void; finish(): unknown };
    queue: { submit(x: unknown[]): void };
    destroy(): void;
    lost?: Promise<unknown>;
  };
  type Kernel = ((a: unknown, b: unknown) => Promise<{ buffer: Buffer; context: { device: Device } }>) & { destroy(): void };
  type Adapter = { info?: Record<string, unknown>; isFallbackAdapter?: boolean };
  type GpuJs = { GPU: new (o: object) => { createKernel(src: string, settings: object): Kernel }; Input: new (v: Float32Array, size: number[]) => unknown };
  const usage = (globalThis as unknown as { GPUBufferUsage: { MAP_READ: number; COPY_DST: number }; GPUMapMode: { READ: number } });
  const errorText = (e: unknown): string => String((e as Error | undefined)?.message ?? e);
  const { GPU, Input } = io.gpujs as GpuJs;
  const plans = new Map<string, Kernel>();
  const staging: { buffer: Buffer | null; size: number } = { buffer: null, size: 0 };
  let gpu: InstanceType<GpuJs['GPU']>;
  let data: Float32Array<ArrayBufferLike> = new Float32Array(0);
  let device: Device | null = null;
  try {
    const adapter = (await io.api.requestAdapter()) as Adapter | null;
    if (!adapter) throw new Error('no adapter');
    const i = adapter.info ?? {};
    gpu = new GPU({ mode: 'webgpu' });
    io.answer(true, JSON.stringify({
      vendor: String(i['vendor'] ?? ''), architecture: String(i['architecture'] ?? ''), device: String(i['device'] ?? ''),
      description: String(i['description'] ?? ''), fallback: Boolean(i['isFallbackAdapter'] ?? adapter.isFallbackAdapter),
    }));
  } catch (e) {
    io.close();
    io.answer(false, errorText(e));
    return;
  }
  for (;;) {
    const req = await io.next();
    if (req === null) break;
    try {
      if (req.data) data = new Float32Array(req.data);
      let plan = plans.get(req.key);
      if (plan) plans.delete(req.key);
      else {
        plan = gpu.createKernel(req.source, { output: req.output, constants: req.constants, pipeline: true, precision: 'single', loopMaxIterations: req.constants['K'] });
        while (plans.size >= io.maxPlans) {
          const [oldest, k] = plans.entries().next().value as [string, Kernel];
          k.destroy();
          plans.delete(oldest);
        }
      }
      plans.set(req.key, plan);
      const result = await plan(new Input(data.subarray(0, req.lenA), req.sizeA), new Input(data.subarray(req.lenA, req.lenA + req.lenB), req.sizeB));
      device = result.context.device;
      const bytes = req.lenOut * 4;
      if (staging.size < bytes) {
        staging.buffer?.destroy();
        staging.buffer = device.createBuffer({ size: bytes, usage: usage.GPUBufferUsage.MAP_READ | usage.GPUBufferUsage.COPY_DST });
        staging.size = bytes;
      }
      const encoder = device.createCommandEncoder();
      encoder.copyBufferToBuffer(result.buffer, 0, staging.buffer!, 0, bytes);
      device.queue.submit([encoder.finish()]);
      await staging.buffer!.mapAsync(usage.GPUMapMode.READ, 0, bytes);
      data.set(new Float32Array(staging.buffer!.getMappedRange(0, bytes)), req.lenA + req.lenB);
      staging.buffer!.unmap();
      io.answer(true, '');
    } catch (e) {
      io.answer(false, errorText(e));
    }
  }
  try {
    for (const k of plans.values()) k.destroy();
    staging.buffer?.destroy();
    device?.destroy();
    // destroy() settles the device's `lost` promise later, and gpu.js answers it: let that happen while this
    // thread is alive (settled in a thread being torn down at process exit, Dawn's throw aborts the process)
    if (device?.lost) await Promise.race([device.lost, new Promise((r) => setTimeout(r, 2000))]);
  } catch {
    // released as far as it goes: the thread ends next
  }
  io.close();
  io.answer(true, 'stopped');
}

/** Writes `s` into the shared answer text and `state` into ctl[slot], then wakes the waiting thread. Closes over nothing. */
function writeAnswer(ctl: Int32Array, slot: number, state: number, text: Uint8Array, s: string): void {
  const bytes = new TextEncoder().encode(s).subarray(0, text.length - 1);
  text.set(bytes);
  text[bytes.length] = 0;
  Atomics.store(ctl, slot, state);
  Atomics.notify(ctl, slot);
}

/**
 * The Node worker: loads Dawn and gpu.js by the paths the engine resolved, then runs the host. Between
 * products the thread sleeps in Atomics.wait on the request count: while a device lives, Dawn polls the
 * event loop without pause, which would keep a core busy. A request is a message posted before the
 * wake-up. (`__name` covers a bundler's keep-names helper in the functions' text.)
 */
const WORKER_SOURCE = `
const __name = (f) => f;
const { workerData, parentPort } = process.getBuiltinModule('node:worker_threads');
const { createRequire } = process.getBuiltinModule('node:module');
const ctl = new Int32Array(workerData.ctl);
const text = new Uint8Array(workerData.message);
const writeAnswer = (${writeAnswer.toString()});
const webgpuHost = (${webgpuHost.toString()});
const answer = (ok, s) => writeAnswer(ctl, ${STATE}, ok ? ${OK} : ${FAILED}, text, String(s));
const close = () => {
  delete globalThis.navigator;
  parentPort.close();
};
let seen = 0;
const next = async () => {
  Atomics.wait(ctl, ${SEQ}, seen);
  seen = Atomics.load(ctl, ${SEQ});
  return seen < 0 ? null : await new Promise((resolve) => parentPort.once('message', resolve));
};
(async () => {
  let api, gpujs;
  try {
    const wg = await import(workerData.webgpuUrl);
    Object.assign(globalThis, wg.globals);
    api = wg.create([]);
    Object.defineProperty(globalThis, 'navigator', { value: { gpu: api }, configurable: true, writable: true });
    gpujs = createRequire(workerData.gpujsPath)(workerData.gpujsPath);
  } catch (e) {
    close();
    answer(false, 'load: ' + String((e && e.message) || e));
    return;
  }
  await webgpuHost({ api, gpujs, answer, next, close, maxPlans: workerData.maxPlans });
})();
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

/** The engine's side of a running host. */
interface Bridge {
  /** Sends a message to the host (a worker's postMessage, or a MessagePort's). */
  post(msg: unknown): void;
  /** Ends the channel after the host stopped (terminates a Node worker that never answered). */
  kill(): void;
  ctl: Int32Array;
  /** Requests sent so far. */
  seq: number;
  text: Uint8Array;
  data: Float32Array<SharedArrayBuffer>;
  /** Why the host is gone, or null while it runs. */
  dead: string | null;
  adapter: WebgpuAdapter;
}

/** A MessagePort-like channel between the page that serves WebGPU (`serveWebgpu`) and the engine's Web Worker (`connectWebgpu`). */
export interface WebgpuPort {
  /** Sends a message to the other end (a MessagePort's postMessage; shared buffers pass as they are). */
  postMessage(msg: unknown): void;
  /** Receives the other end's messages. */
  onmessage: ((e: { data: unknown }) => void) | null;
}

let bridge: Bridge | null = null;
/** Whether stopWebgpu is registered to run at process exit. */
let exitHook = false;
/** Why the last start failed; starting is not retried until {@link stopWebgpu}. */
let failure: string | null = null;
/** The page's channel in a browser (connectWebgpu), or null. */
let pagePort: WebgpuPort | null = null;

const nodeProcess = (): NodeProcess | undefined => (globalThis as { process?: NodeProcess }).process;

function readText(text: Uint8Array): string {
  const end = text.indexOf(0);
  return new TextDecoder().decode(text.slice(0, end < 0 ? text.length : end));
}

/** Blocks until the host answers or `ms` pass; returns the answer's state. */
function waitAnswer(b: { ctl: Int32Array; dead: string | null }, ms: number, what: string): number {
  const t0 = Date.now();
  while (Atomics.load(b.ctl, STATE) === PENDING) {
    if (b.dead) throw new Error(`webgpu host: ${b.dead}`);
    if (Date.now() - t0 > ms) throw new Error(`webgpu host: ${what} did not finish within ${ms / 1000} s`);
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

function shortName(a: { vendor: string; architecture: string; device: string; description: string }): string {
  const all = `${a.vendor} ${a.architecture} ${a.device} ${a.description}`;
  if (/swiftshader/i.test(all)) return 'SwiftShader';
  if (/lavapipe|llvmpipe/i.test(all)) return 'lavapipe';
  return a.description || [a.vendor, a.architecture].filter((x) => x).join(' ') || 'unnamed adapter';
}

/**
 * Starts the webgpu host once (synchronously: blocks until it has answered with an adapter) and
 * returns the adapter. In Node the host is a worker thread on Dawn; in a browser, the page connected
 * by {@link connectWebgpu}. Throws an Error naming what is missing: the `webgpu` or `gpu.js` package
 * not loadable (with the loader's own error), no Vulkan loader, no adapter (no Vulkan driver that Dawn
 * accepts), or in a browser no connected page, no cross-origin isolation, or the main thread. A failure
 * is remembered: later calls throw the same until {@link stopWebgpu}.
 */
export function startWebgpu(): WebgpuAdapter {
  if (bridge && !bridge.dead) return bridge.adapter;
  if (failure) throw new Error(failure);
  try {
    bridge = pagePort ? connect(pagePort) : launch();
    return bridge.adapter;
  } catch (e) {
    failure = e instanceof Error ? e.message : String(e);
    bridge = null;
    throw new Error(failure);
  }
}

/** Shared memory for a new host: control slots and the answer text. */
function channel(): { ctlBuf: SharedArrayBuffer; message: SharedArrayBuffer } {
  return { ctlBuf: new SharedArrayBuffer(16), message: new SharedArrayBuffer(MESSAGE_BYTES) };
}

/** Waits for the host's first answer and turns it into the adapter; throws with the host's reason. */
function greet(b: Omit<Bridge, 'adapter'>, icd: string | null, via: string, noAdapter: string): Bridge {
  let state: number;
  try {
    state = waitAnswer(b, START_MS, 'loading WebGPU and requesting an adapter');
  } catch (e) {
    b.kill(); // it never answered: no device to release
    throw e;
  }
  const why = readText(b.text);
  if (state !== OK) {
    if (why === 'no adapter') throw new Error(noAdapter);
    if (why.startsWith('load: ')) throw new Error(`webgpu: the webgpu package did not load (${why.slice(6)})`);
    throw new Error(`webgpu: the host did not start (${why})`);
  }
  const info = JSON.parse(why) as { vendor: string; architecture: string; device: string; description: string; fallback: boolean };
  const adapter: WebgpuAdapter = {
    vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description,
    name: shortName(info),
    software: info.fallback || SOFTWARE.test(`${info.vendor} ${info.architecture} ${info.device} ${info.description}`),
    icd, via,
  };
  return Object.assign(b, { adapter }); // the same object the host's listeners mark dead
}

/** Node: starts the host in a worker thread on Dawn. */
function launch(): Bridge {
  const proc = nodeProcess();
  const modules = proc?.getBuiltinModule;
  if (!proc || !modules) {
    throw new Error("webgpu: in a browser the engine reaches WebGPU through the page: run the engine in a Web Worker, call serveWebgpu(port) on the page and connectWebgpu(port) in the worker (from '@metagrad/autograd/gpujs'); not connected here");
  }
  if (typeof SharedArrayBuffer === 'undefined') throw new Error('webgpu: SharedArrayBuffer is not available in this runtime');
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
  const { ctlBuf, message } = channel();
  const worker = new wt.Worker(WORKER_SOURCE, { eval: true, workerData: { ctl: ctlBuf, message, gpujsPath, webgpuUrl, maxPlans: MAX_PLANS } });
  worker.unref();
  if (!exitHook) {
    exitHook = true;
    proc.on?.('exit', stopWebgpu);
  }
  const b: Omit<Bridge, 'adapter'> = {
    post: (msg) => worker.postMessage(msg), kill: () => void worker.terminate(),
    ctl: new Int32Array(ctlBuf), seq: 0, text: new Uint8Array(message), data: new Float32Array(new SharedArrayBuffer(0)), dead: null,
  };
  worker.on('error', (e) => { b.dead = `the worker thread failed: ${String(e)}`; });
  worker.on('exit', (code) => { b.dead ??= `the worker thread exited (code ${String(code)})`; });
  return greet(b, icd, 'Dawn on Vulkan',
    `webgpu: Dawn (the webgpu package) loaded, but no adapter answered: no Vulkan driver that Dawn accepts${icd ? ` at ${icd}` : ' (install one, or set METAGRAD_VULKAN_ICD to an ICD json or to swiftshader)'}`);
}

/** Browser: asks the page behind `port` (serveWebgpu) to host, from a Web Worker of a cross-origin-isolated page. */
function connect(port: WebgpuPort): Bridge {
  const g = globalThis as { crossOriginIsolated?: boolean; document?: unknown };
  if (typeof SharedArrayBuffer === 'undefined' || g.crossOriginIsolated === false) {
    throw new Error('webgpu: the page is not cross-origin isolated, so there is no SharedArrayBuffer to block on (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)');
  }
  if (g.document !== undefined) {
    throw new Error("webgpu: the engine must run in a Web Worker to use the page's WebGPU (a browser's main thread may not block on Atomics.wait); call connectWebgpu(port) there");
  }
  const { ctlBuf, message } = channel();
  const b: Omit<Bridge, 'adapter'> = {
    post: (msg) => port.postMessage(msg), kill: () => undefined,
    ctl: new Int32Array(ctlBuf), seq: 0, text: new Uint8Array(message), data: new Float32Array(new SharedArrayBuffer(0)), dead: null,
  };
  port.postMessage({ init: { ctl: ctlBuf, message } });
  return greet(b, null, "the page's navigator.gpu", 'webgpu: the page has navigator.gpu, but no adapter answered (no GPU the browser exposes to WebGPU; headless Chromium needs --enable-unsafe-webgpu)');
}

/** Whether a page's channel was given (connectWebgpu): then the host is that page, in any runtime. */
export function pageConnected(): boolean {
  return pagePort !== null;
}

/**
 * Browser, in the engine's Web Worker: uses the page behind `port` (which runs `serveWebgpu` on the
 * other end of the channel) as the webgpu host; `setGpujsMode('webgpu')` then blocks on it. Forgets
 * a running host or an earlier failure.
 */
export function connectWebgpu(port: WebgpuPort): void {
  stopWebgpu();
  pagePort = port;
}

/**
 * Browser, on the page: serves WebGPU (navigator.gpu) and gpu.js kernels to an engine in a Web Worker
 * that calls `connectWebgpu` with the other end of `port`. `gpujs` is the gpu.js module.
 */
export function serveWebgpuWith(port: WebgpuPort, gpujs: unknown): void {
  const queue: unknown[] = [];
  let waiting: ((m: unknown) => void) | null = null;
  let ctl: Int32Array | null = null;
  let text: Uint8Array | null = null;
  const answer = (ok: boolean, s: string): void => writeAnswer(ctl!, STATE, ok ? OK : FAILED, text!, s);
  port.onmessage = (e) => {
    const m = e.data as { init?: { ctl: SharedArrayBuffer; message: SharedArrayBuffer } } | 'stop' | HostRequest;
    if (typeof m === 'object' && 'init' in m && m.init) {
      ctl = new Int32Array(m.init.ctl);
      text = new Uint8Array(m.init.message);
      const api = (globalThis as { navigator?: { gpu?: HostIO['api'] } }).navigator?.gpu;
      if (!api) {
        answer(false, "no navigator.gpu on the page (WebGPU needs a secure context: https or localhost; Chromium headless needs --enable-unsafe-webgpu)");
        return;
      }
      void webgpuHost({
        api, gpujs, answer, maxPlans: MAX_PLANS, close: () => { port.onmessage = null; },
        next: () => new Promise((resolve) => {
          const take = (x: unknown): void => resolve(x === 'stop' ? null : (x as HostRequest));
          if (queue.length > 0) take(queue.shift());
          else waiting = take;
        }),
      });
      return;
    }
    if (waiting) {
      const w = waiting;
      waiting = null;
      w(m);
    } else queue.push(m);
  };
}

/**
 * Runs one product on the webgpu host, synchronously: A (`a`) and B (`b`) are copied into shared
 * memory, the kernel for `job.key` runs, and the `job.lenOut` floats it wrote are returned (a view
 * of shared memory, valid until the next call). Starts the host if needed.
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
  br.post({ key, source, output, constants, sizeA, sizeB, lenOut, lenA: a.length, lenB: b.length, data: grown } satisfies HostRequest);
  Atomics.store(br.ctl, SEQ, ++br.seq); // wakes a sleeping Node host, which then takes the message
  Atomics.notify(br.ctl, SEQ);
  if (waitAnswer(br, RUN_MS, `the product ${key}`) !== OK) throw new Error(`webgpu matmul ${key}: ${readText(br.text)}`);
  return br.data.subarray(a.length + b.length, need);
}

/** The adapter when the host is running, else null; and why starting failed, if it did. */
export function webgpuState(): { adapter: WebgpuAdapter | null; failure: string | null } {
  return { adapter: bridge && !bridge.dead ? bridge.adapter : null, failure };
}

/**
 * Stops the host and forgets a failed start, so the next use starts afresh. Synchronous: the host
 * destroys its kernels and device and ends by itself (terminating a Node thread that holds a Dawn device
 * aborts the process), and the caller waits for that. Also run at process exit.
 */
export function stopWebgpu(): void {
  const br = bridge;
  bridge = null;
  failure = null;
  if (!br || br.dead) return;
  Atomics.store(br.ctl, STATE, PENDING);
  br.post('stop'); // a page host takes it from its queue
  Atomics.store(br.ctl, SEQ, -1); // a Node host wakes and stops
  Atomics.notify(br.ctl, SEQ);
  try {
    waitAnswer(br, STOP_MS, 'releasing its device');
  } catch {
    // it has gone already, or is stuck in a product: nothing more to do from here
  }
  br.dead = 'stopped';
}

/** One line on the webgpu route: the adapter when the host runs, why it does not, or that it was not tried. */
export function webgpuLine(): string {
  const { adapter, failure } = webgpuState();
  if (adapter) return `webgpu (${adapter.name}, ${adapter.software ? 'software' : 'hardware GPU'}): adapter '${adapterText(adapter)}' through ${adapter.via}${adapter.icd ? ` (ICD ${adapter.icd})` : ''}`;
  if (failure) return failure;
  return "webgpu: not started (setGpujsMode('webgpu') starts it)";
}

/** The adapter's fields joined for reading. */
export function adapterText(a: { vendor: string; architecture: string; device: string; description: string }): string {
  return [a.vendor, a.architecture, a.device, a.description].filter((x) => x).join(' | ');
}
