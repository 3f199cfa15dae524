/**
 * The CLI's matmul backend: gpu.js is an optional peer dependency of metagrad. When it is installed,
 * the CLI plugs its kernels in (installGpujs from @metagrad/autograd/gpujs), so that 'auto' can use a
 * hardware GPU and METAGRAD_BACKEND=gpujs can force it; when it is not, every matmul stays on the
 * WebAssembly kernels and the run's metadata says so. METAGRAD_BACKEND=cpu skips loading gpu.js.
 */

let done: Promise<void> | null = null;

/** Installs the gpujs backend if gpu.js can be loaded (once per process). Never throws for a missing gpu.js. */
export function installGpuBackend(): Promise<void> {
  if (process.env.METAGRAD_BACKEND === 'cpu') return Promise.resolve();
  done ??= import('@metagrad/autograd/gpujs').then(
    (m) => void m.installGpujs(),
    (e: unknown) => {
      const code = (e as { code?: string }).code;
      if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw e;
      if (process.env.METAGRAD_BACKEND === 'gpujs') throw new Error('METAGRAD_BACKEND=gpujs, but gpu.js is not installed (npm install gpu.js)');
    },
  );
  return done;
}
