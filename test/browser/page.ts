/**
 * The browser page of test/browser/browser.test.ts: imports the libraries by their package names (the
 * esbuild bundle resolves them to the built packages, packages/*\/dist, as a user's bundler would) and
 * exposes `window.metagradRun()`, which runs workload.ts and returns plain numbers.
 */
import * as autograd from '@metagrad/autograd';
import * as gpujs from '@metagrad/autograd/gpujs';
import * as estimators from '@metagrad/rl/estimators';
import * as tabular from '@metagrad/rl/tabular';
import { float64Workload, gpujsWorkload, type Float64Numbers, type GpujsNumbers, type WebgpuNumbers } from './workload.js';

/** What the page returns to the test. */
export interface PageResult {
  userAgent: string;
  float64: Float64Numbers;
  gpujs: GpujsNumbers;
  /** The WebGL2 (else WebGL) renderer of a fresh canvas, unmasked where the browser allows, or null. */
  webgl: { api: 'webgl2' | 'webgl'; renderer: string; vendor: string } | null;
  ms: { float64: number; gpujs: number };
}

function webglRenderer(): PageResult['webgl'] {
  for (const api of ['webgl2', 'webgl'] as const) {
    const gl = document.createElement('canvas').getContext(api) as WebGLRenderingContext | null;
    if (!gl) continue;
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    const vendor = String(gl.getParameter(ext ? ext.UNMASKED_VENDOR_WEBGL : gl.VENDOR));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return { api, renderer, vendor };
  }
  return null;
}

function run(): PageResult {
  const t0 = performance.now();
  const float64 = float64Workload({ autograd, estimators, tabular });
  const t1 = performance.now();
  const gpu = gpujsWorkload(autograd, gpujs);
  const t2 = performance.now();
  return { userAgent: navigator.userAgent, float64, gpujs: gpu, webgl: webglRenderer(), ms: { float64: t1 - t0, gpujs: t2 - t1 } };
}

/** Starts the engine in a Web Worker (/webgpu-worker.js), serves the page's WebGPU to it, and returns what it computed. */
function runWebgpu(): Promise<(WebgpuNumbers | { error: string }) & { mainThread: string }> {
  // on the page's own thread the engine may not block: the error says to use a Web Worker
  let mainThread = 'no error';
  try {
    gpujs.connectWebgpu(new MessageChannel().port1);
    gpujs.setGpujsMode('webgpu');
  } catch (e) {
    mainThread = e instanceof Error ? e.message : String(e);
  }
  gpujs.disposeGpujs();
  return new Promise((resolve) => {
    const worker = new Worker('/webgpu-worker.js', { type: 'module' });
    const { port1, port2 } = new MessageChannel();
    gpujs.serveWebgpu(port1);
    worker.onmessage = (e: MessageEvent<WebgpuNumbers>) => {
      resolve({ ...e.data, mainThread });
      worker.terminate();
    };
    worker.onerror = (e) => resolve({ error: `worker error: ${e.message}`, mainThread });
    worker.postMessage({ port: port2 }, [port2]);
  });
}

declare global {
  interface Window {
    metagradWebgpu?: () => Promise<(WebgpuNumbers | { error: string }) & { mainThread: string }>;
    metagradRun?: () => PageResult;
    metagradReady?: boolean;
  }
}

window.metagradRun = run;
window.metagradWebgpu = runWebgpu;
window.metagradReady = true;
