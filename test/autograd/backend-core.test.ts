/**
 * The engine without its gpu.js subpath: the root entry never loads gpu.js, reports that no GPU backend
 * is installed, keeps every matmul on the cpu kernels, and refuses 'gpujs' with the import that fixes it.
 * (A file of its own: vitest runs each file in a fresh process, so nothing here has installed gpu.js.)
 */
import { describe, it, expect, afterEach } from 'vitest';
import { backendReport, randn, setBackend } from '@metagrad/autograd';

describe('backend without @metagrad/autograd/gpujs', () => {
  const saved = process.env.METAGRAD_BACKEND;
  afterEach(() => {
    if (saved === undefined) delete process.env.METAGRAD_BACKEND;
    else process.env.METAGRAD_BACKEND = saved;
    setBackend('auto');
  });

  it('reports cpu for float32 and no gpu.js', () => {
    const r = setBackend('auto');
    expect(r.gpujs).toBeNull();
    expect(r.float32).toMatch(/^cpu \(no GPU backend installed; installGpujs\(\) from '@metagrad\/autograd\/gpujs' adds gpu\.js\)$/);
    const x = randn([300, 300], 1, { dtype: 'float32' });
    expect(x.matmul(x).dtype).toBe('float32');
  });

  it("setBackend('gpujs') names the subpath to import and the package to install", () => {
    expect(() => setBackend('gpujs')).toThrow(
      "setBackend('gpujs'): the gpujs backend is not installed: call installGpujs() from '@metagrad/autograd/gpujs' first (gpu.js is an optional peer dependency: npm install gpu.js)",
    );
    expect(backendReport().setting).toBe('auto');
  });

  it('gpu.js is not among the loaded modules', async () => {
    const { createRequire } = await import('node:module');
    const req = createRequire(import.meta.url);
    const gpujsMain = req.resolve('gpu.js');
    expect(Object.keys(req.cache).filter((k) => k === gpujsMain)).toEqual([]);
  });
});
