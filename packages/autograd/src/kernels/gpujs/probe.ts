/**
 * Environment probing for the gpu.js backends: why each mode is or is not live, in words a person can
 * act on. Node-only facts (the `gl` package, the X display, the GL driver's shared objects) are read
 * through `process.getBuiltinModule` when it exists, so this file has no `node:` import and bundles
 * for the browser, where those checks simply report that there is no Node.
 */
import { adapterText, pageConnected, startWebgpu, webgpuLine } from './webgpu.js';

/** The slice of Node's `process` read here (absent in browsers). */
interface NodeProcess {
  env: Record<string, string | undefined>;
  getBuiltinModule?(id: string): unknown;
}

/** Node's process object, or undefined in a browser. */
export function nodeProcess(): NodeProcess | undefined {
  return (globalThis as { process?: NodeProcess }).process;
}

/** What loading the optional `gl` package gave. */
interface Loaded {
  ok: boolean;
  error: string | null;
}

let glLoaded: Loaded | null = null;

const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';

/**
 * Loads `gl` the way gpu.js does (resolved from gpu.js's own folder), only to get the exact error
 * that gpu.js swallows when the native build is missing or does not load. Node only.
 */
export function loadGl(): Loaded {
  if (glLoaded) return glLoaded;
  const mod = nodeProcess()?.getBuiltinModule?.('node:module') as
    | { createRequire(from: string): { (id: string): unknown; resolve(id: string): string } }
    | undefined;
  if (!mod) return (glLoaded = { ok: false, error: 'not running in Node (headless-gl is a Node package)' });
  try {
    const req = mod.createRequire(import.meta.url);
    mod.createRequire(req.resolve('gpu.js'))('gl');
    glLoaded = { ok: true, error: null };
  } catch (e) {
    glLoaded = { ok: false, error: firstLine(e) };
  }
  return glLoaded;
}

/**
 * Which GL driver libraries this process has mapped (Linux only): headless-gl runs on ANGLE, whose
 * RENDERER string is just "ANGLE", so the shared objects in /proc/self/maps are the honest way to
 * tell Mesa's software rasterizer (dri/swrast_dri.so with libLLVM = llvmpipe) from a hardware driver.
 */
export function glDriverDescription(): { renderer: string; software: boolean } {
  let maps: string;
  try {
    const fs = nodeProcess()?.getBuiltinModule?.('node:fs') as { readFileSync(path: string, enc: 'utf8'): string } | undefined;
    if (!fs) return { renderer: 'unknown (not running in Node)', software: false };
    maps = fs.readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return { renderer: 'unknown (no /proc/self/maps)', software: false };
  }
  const libs = new Set<string>();
  for (const line of maps.split('\n')) {
    const path = line.trim().split(/\s+/)[5];
    if (path && path.startsWith('/')) libs.add(path.slice(path.lastIndexOf('/') + 1));
  }
  const has = (re: RegExp): string | undefined => [...libs].find((l) => re.test(l));
  const swrast = has(/^(kms_)?swrast_dri\.so/);
  if (swrast) {
    const llvm = has(/^libLLVM/);
    return { renderer: `Mesa ${swrast} (${llvm ? 'llvmpipe' : 'softpipe'}, software rasterizer on the CPU)`, software: true };
  }
  const dri = has(/_dri\.so/);
  if (dri) return { renderer: `Mesa ${dri} (hardware driver)`, software: false };
  const nvidia = has(/^libGLX_nvidia|^libnvidia-glcore/);
  if (nvidia) return { renderer: `NVIDIA ${nvidia} (hardware driver)`, software: false };
  return { renderer: 'unknown (ANGLE does not expose the underlying driver)', software: false };
}

/** Renderer strings of software rasterizers: Chromium's SwiftShader, Mesa's llvmpipe and softpipe, Microsoft's WARP. */
const SOFTWARE_RENDERER = /swiftshader|llvmpipe|softpipe|software|basic render driver|microsoft basic/i;

/** browserGlRenderer's answers, per API: a page's renderer does not change, and each probe costs a context. */
const rendererCache = new Map<'webgl' | 'webgl2', { renderer: string; software: boolean } | null>();

/**
 * The renderer behind a browser's WebGL or WebGL2 context (WEBGL_debug_renderer_info's unmasked renderer
 * when the browser exposes it), and whether it is a software rasterizer such as SwiftShader. Null outside
 * a browser or when no such context can be created. Probed once per API, on a context released right
 * after: a browser keeps only about 16 live WebGL contexts and evicts the oldest, which would be gpu.js's
 * own if every report made a new one.
 */
export function browserGlRenderer(mode: 'webgl' | 'webgl2'): { renderer: string; software: boolean } | null {
  if (rendererCache.has(mode)) return rendererCache.get(mode)!;
  type GL = { getExtension(name: string): ({ UNMASKED_RENDERER_WEBGL: number } & { loseContext?(): void }) | null; getParameter(p: number): unknown; RENDERER: number };
  type Canvas = { getContext(kind: string): GL | null };
  const g = globalThis as { document?: { createElement(tag: 'canvas'): Canvas }; OffscreenCanvas?: new (w: number, h: number) => Canvas };
  let canvas: Canvas | undefined;
  try {
    canvas = g.OffscreenCanvas ? new g.OffscreenCanvas(1, 1) : g.document?.createElement('canvas');
  } catch {
    canvas = undefined;
  }
  const gl = canvas?.getContext(mode === 'webgl2' ? 'webgl2' : 'webgl');
  let found: { renderer: string; software: boolean } | null = null;
  if (gl) {
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER) ?? 'unknown');
    found = { renderer, software: SOFTWARE_RENDERER.test(renderer) };
    gl.getExtension('WEBGL_lose_context')?.loseContext?.();
  }
  if (canvas) rendererCache.set(mode, found); // outside a browser there is nothing to cache
  return found;
}

/** What {@link probeWebgpu} found: whether WebGPU (navigator.gpu, or Dawn from the `webgpu` package) loaded and which adapter answered. */
export interface WebgpuProbe {
  /** WebGPU is there: the `webgpu` package loaded (Node), or the browser has navigator.gpu. */
  loaded: boolean;
  /** The adapter that answered requestAdapter() (vendor, architecture, device, description), or null. */
  adapter: string | null;
  /** One line saying what was found and why it is or is not usable. */
  reason: string;
}

/**
 * Asks WebGPU for an adapter. In Node, or in a browser worker connected to a page (`connectWebgpu`):
 * starts the webgpu host, which is what `setGpujsMode('webgpu')` runs on (Node: Dawn from the optional
 * `webgpu` package on the Vulkan driver; METAGRAD_VULKAN_ICD picks another). Otherwise in a browser:
 * asks `navigator.gpu`. Never throws; a failure is the reason, naming what is missing.
 */
export async function probeWebgpu(timeoutMs = 10_000): Promise<WebgpuProbe> {
  type Adapter = { info?: { vendor?: string; architecture?: string; device?: string; description?: string } };
  type Gpu = { requestAdapter(): Promise<Adapter | null> };
  const gpu = (globalThis as { navigator?: { gpu?: Gpu } }).navigator?.gpu;
  if (nodeProcess()?.getBuiltinModule || !gpu || pageConnected()) {
    try {
      const a = startWebgpu();
      return { loaded: true, adapter: adapterText(a), reason: webgpuLine() };
    } catch (e) {
      const reason = firstLine(e);
      return { loaded: !/not installed|did not load|through the page/.test(reason), adapter: null, reason };
    }
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutMs); });
  const note = "the engine's matmul reaches it from a Web Worker through serveWebgpu (on the page) and connectWebgpu (in the worker), else runs on WebGL2";
  try {
    const got = await Promise.race([gpu.requestAdapter(), timeout]);
    if (got === 'timeout') return { loaded: true, adapter: null, reason: `webgpu: navigator.gpu.requestAdapter() did not answer within ${timeoutMs} ms` };
    if (got === null) return { loaded: true, adapter: null, reason: `webgpu: navigator.gpu present, but no adapter answered; ${note}` };
    const adapter = adapterText({ vendor: '', architecture: '', device: '', description: '', ...got.info });
    return { loaded: true, adapter, reason: `webgpu: adapter '${adapter}' answers through navigator.gpu; ${note}` };
  } catch (e) {
    return { loaded: true, adapter: null, reason: `webgpu: navigator.gpu.requestAdapter() failed (${firstLine(e)})` };
  } finally {
    clearTimeout(timer);
  }
}
