/**
 * Environment probing for the gpu.js backends: loads gpu.js (and its optional `gl` dependency)
 * without letting a missing or broken install throw at import time, and describes why each mode is
 * or is not live in words a person can act on.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import type * as GpuJsModule from 'gpu.js';

/** The gpu.js module namespace (CommonJS, loaded through createRequire). */
export type GpuJs = typeof GpuJsModule;

interface Loaded<T> {
  value: T | null;
  error: string | null;
}

let gpujsLoaded: Loaded<GpuJs> | null = null;
let glLoaded: Loaded<unknown> | null = null;

const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';

/** gpu.js, or null with the load error. Cached. */
export function loadGpujs(): Loaded<GpuJs> {
  if (gpujsLoaded) return gpujsLoaded;
  try {
    const req = createRequire(import.meta.url);
    gpujsLoaded = { value: req('gpu.js') as GpuJs, error: null };
  } catch (e) {
    gpujsLoaded = { value: null, error: firstLine(e) };
  }
  return gpujsLoaded;
}

/**
 * Loads `gl` the way gpu.js does (resolved from gpu.js's own folder), only to get the exact error
 * that gpu.js swallows when the native build is missing or does not load.
 */
export function loadGl(): Loaded<unknown> {
  if (glLoaded) return glLoaded;
  try {
    const req = createRequire(import.meta.url);
    const fromGpujs = createRequire(req.resolve('gpu.js'));
    glLoaded = { value: fromGpujs('gl') as unknown, error: null };
  } catch (e) {
    glLoaded = { value: null, error: firstLine(e) };
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
    maps = readFileSync('/proc/self/maps', 'utf8');
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

/** One line on WebGPU: gpu.js's webgpu mode needs `navigator.gpu`, which Node 20 does not have. */
export function webgpuDescription(): string {
  const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
  if (!nav || !nav.gpu) {
    return 'webgpu: no navigator.gpu (Node 20 has none; the webgpu@0.3.x package can supply one)';
  }
  return 'webgpu: navigator.gpu present, but gpu.js webgpu kernels return Promises and matmulGpujs is synchronous';
}
