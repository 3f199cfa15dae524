/**
 * The engine's Web Worker of the browser test's webgpu part: takes the port of the page's WebGPU host
 * (`serveWebgpu` in page.ts), connects to it, runs webgpuWorkload and posts the numbers (or the error).
 */
import * as autograd from '@metagrad/autograd';
import * as gpujs from '@metagrad/autograd/gpujs';
import { webgpuWorkload, type WebgpuNumbers } from './workload.js';

const scope = globalThis as unknown as { onmessage: ((e: { data: { port: gpujs.WebgpuPort } }) => void) | null; postMessage(x: unknown): void };
scope.onmessage = (e) => {
  try {
    gpujs.connectWebgpu(e.data.port);
    scope.postMessage(webgpuWorkload(autograd, gpujs));
  } catch (err) {
    scope.postMessage({ error: err instanceof Error ? err.message : String(err) } satisfies Partial<WebgpuNumbers>);
  }
};
