import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gpujsInfo, setGpujsMode, matmulGpujs, disposeGpujs, type GpuMode } from '@metagrad/autograd/gpujs';
import { webgpuForTests } from '../../helpers.js';

/** float64 reference plus the per-element scale Σ|a||b| the float32 error is measured against. */
function reference(
  a: Float32Array, b: Float32Array, batch: number, m: number, k: number, n: number, transA: boolean, transB: boolean,
): { c: Float64Array; scale: Float64Array } {
  const c = new Float64Array(batch * m * n);
  const scale = new Float64Array(batch * m * n);
  for (let z = 0; z < batch; z++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        let t = 0;
        for (let p = 0; p < k; p++) {
          const av = transA ? a[z * k * m + p * m + i]! : a[z * m * k + i * k + p]!;
          const bv = transB ? b[z * n * k + j * k + p]! : b[z * k * n + p * n + j]!;
          s += av * bv;
          t += Math.abs(av * bv);
        }
        c[z * m * n + i * n + j] = s;
        scale[z * m * n + i * n + j] = t;
      }
    }
  }
  return { c, scale };
}

function randomArray(len: number, seed: number): Float32Array {
  const x = new Float32Array(len);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    x[i] = s / 2 ** 32 - 0.5;
  }
  return x;
}

/** Largest |c - ref| / (Σ|a||b| + tiny) over all elements. */
function check(
  batch: number, m: number, k: number, n: number, transA: boolean, transB: boolean, seed: number,
): number {
  const a = randomArray(batch * m * k, seed);
  const b = randomArray(batch * k * n, seed * 7 + 3);
  const out = new Float32Array(batch * m * n).fill(Number.NaN);
  matmulGpujs(a, b, out, batch, m, k, n, transA, transB);
  const { c, scale } = reference(a, b, batch, m, k, n, transA, transB);
  let worst = 0;
  for (let i = 0; i < c.length; i++) {
    const err = Math.abs(out[i]! - c[i]!) / (scale[i]! + 1e-30);
    if (!(err <= worst)) worst = Number.isNaN(err) ? Infinity : err;
  }
  return worst;
}

/** Modes that can run here: cpu always, webasm, headlessgl and webgpu when gpu.js says so (webgpu: always where it must). */
const mustWebgpu = webgpuForTests();
const candidates: GpuMode[] = ['cpu', 'webasm', 'headlessgl', 'webgpu'];
const modes = candidates.filter((mode) => {
  try {
    setGpujsMode(mode);
    return true;
  } catch {
    return mode === 'webgpu' && mustWebgpu; // then its tests run and fail with the reason
  }
});
const TRANS: Array<[boolean, boolean]> = [[false, false], [true, false], [false, true], [true, true]];

afterAll(() => {
  disposeGpujs();
});

describe('gpujsInfo', () => {
  it('never throws and describes the live mode', () => {
    setGpujsMode('auto');
    const info = gpujsInfo();
    expect(info.available).toBe(true);
    expect(info.mode).not.toBeNull();
    expect(info.reason).toContain(info.mode!);
    expect(info.isGpu).toBe(['webgpu', 'headlessgl', 'webgl', 'webgl2'].includes(info.mode!));
    if (!info.isGpu) expect(info.software).toBe(true);
  });

  it('lists the modes it will test', () => {
    expect(modes).toContain('cpu');
  });
});

describe('webgpu: the adapter, and what is missing when there is none', () => {
  const withIcd = (icd: string, fn: () => void): void => {
    const saved = process.env['METAGRAD_VULKAN_ICD'];
    disposeGpujs(); // forget the running worker (or an earlier failure)
    process.env['METAGRAD_VULKAN_ICD'] = icd;
    try {
      fn();
    } finally {
      if (saved === undefined) delete process.env['METAGRAD_VULKAN_ICD'];
      else process.env['METAGRAD_VULKAN_ICD'] = saved;
      disposeGpujs();
    }
  };

  it.runIf(mustWebgpu)('on SwiftShader the report names the adapter and says software', () => {
    const info = setGpujsMode('webgpu');
    expect(info.mode).toBe('webgpu');
    expect(info.isGpu).toBe(true);
    if (process.env['METAGRAD_VULKAN_ICD'] === 'swiftshader') {
      expect(info.reason).toMatch(/^webgpu \(SwiftShader, software\): adapter '.*SwiftShader driver/);
      expect(info.software).toBe(true);
      expect(info.renderer).toMatch(/swiftshader/i);
    }
  });

  it('a driver file that does not exist: the error names the setting and the path', () => {
    withIcd('/nonexistent/icd.json', () => {
      setGpujsMode('cpu');
      expect(() => setGpujsMode('webgpu')).toThrowError(/gpu\.js mode "webgpu" is not available: webgpu: METAGRAD_VULKAN_ICD=\/nonexistent\/icd\.json: no such file/);
      expect(gpujsInfo().mode).toBe('cpu'); // the previous mode stays live
    });
  });

  it.runIf(mustWebgpu)('a driver that does not load: Dawn answers with no adapter, and the error says so', () => {
    // a loader (Chromium's, by a link next to the manifest) and an ICD manifest whose library is missing
    const dir = mkdtempSync(join(tmpdir(), 'metagrad-icd-'));
    symlinkSync('/usr/lib/chromium/libvulkan.so.1', join(dir, 'libvulkan.so.1'));
    const icd = join(dir, 'broken_icd.json');
    writeFileSync(icd, JSON.stringify({ file_format_version: '1.0.0', ICD: { library_path: './no_such_driver.so', api_version: '1.1.0' } }));
    withIcd(icd, () => {
      expect(() => setGpujsMode('webgpu')).toThrowError(/webgpu: Dawn \(the webgpu package\) loaded, but no adapter answered: no Vulkan driver that Dawn accepts at .*broken_icd\.json/);
    });
  });
});

describe('setGpujsMode errors', () => {
  it('refuses an unknown name and lists the real ones', () => {
    expect(() => setGpujsMode('wasm')).toThrowError(/unknown gpu\.js mode "wasm"; gpu\.js 2\.24 modes are headlessgl, webgl2, webgl, webgpu, webasm, cpu/);
  });

  it('refuses browser-only webgl in Node', () => {
    expect(() => setGpujsMode('webgl2')).toThrowError(/gpu\.js mode "webgl2" is not available: webgl2: browser-only/);
  });

  it.runIf(!modes.includes('headlessgl'))('refuses headlessgl naming gl or the missing X display', () => {
    expect(() => setGpujsMode('headlessgl')).toThrowError(
      /gpu\.js mode "headlessgl" is not available: headlessgl: (the optional native package gl is not loadable|gl loaded but no GL context \(DISPLAY is unset; run under `xvfb-run -a`\)|gl loaded but creating a GL context failed)/,
    );
  });

  it('rejects sizes that do not fit', () => {
    setGpujsMode('cpu');
    expect(() => matmulGpujs(new Float32Array(5), new Float32Array(6), new Float32Array(4), 1, 2, 3, 2, false, false))
      .toThrowError(/a has 5 elements, needs 6/);
    expect(() => matmulGpujs(new Float32Array(6), new Float32Array(6), new Float32Array(4), 1, 2.5, 3, 2, false, false))
      .toThrowError(/m must be a non-negative integer/);
  });
});

describe.each(modes)('matmulGpujs in mode %s', (mode) => {
  it('matches the float64 reference on random shapes, all four transpose combos, batches', () => {
    setGpujsMode(mode);
    // few distinct shapes per run: every new shape compiles (and caches) kernels
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 37 }), fc.integer({ min: 1, max: 37 }),
        fc.integer({ min: 1, max: 37 }), fc.boolean(), fc.boolean(), fc.integer({ min: 1, max: 1e6 }),
        (batch, m, k, n, transA, transB, seed) => {
          expect(check(batch, m, k, n, transA, transB, seed)).toBeLessThan(1e-5);
        },
      ),
      { numRuns: mode === 'cpu' ? 40 : 25, seed: 20261124 },
    );
  });

  it.each(TRANS)('edges: 1×1, one row, one column, k = 1, odd sizes (transA %s, transB %s)', (transA, transB) => {
    setGpujsMode(mode);
    for (const [batch, m, k, n] of [[1, 1, 1, 1], [1, 1, 9, 13], [2, 13, 9, 1], [1, 7, 1, 5], [3, 5, 6, 7], [1, 2, 3, 2]] as const) {
      expect(check(batch, m, k, n, transA, transB, m * 31 + k * 7 + n)).toBeLessThan(1e-5);
    }
  });

  it('long k (2048) stays within 1e-4 relative error', () => {
    setGpujsMode(mode);
    expect(check(1, 9, 2048, 11, false, true, 5)).toBeLessThan(1e-4);
    expect(check(2, 3, 2048, 4, true, false, 6)).toBeLessThan(1e-4);
  });

  it('a cached kernel picks up new data, ignores extra input length, writes only out[0..b·m·n)', () => {
    setGpujsMode(mode);
    const [m, k, n] = [6, 10, 5];
    for (const seed of [1, 2, 3]) expect(check(2, m, k, n, false, false, seed)).toBeLessThan(1e-5);
    const a = new Float32Array(m * k + 3).fill(1);
    const b = new Float32Array(k * n + 3).fill(2);
    const out = new Float32Array(m * n + 2).fill(-7);
    matmulGpujs(a, b, out, 1, m, k, n, false, false);
    expect(Array.from(out.subarray(0, m * n))).toEqual(new Array(m * n).fill(2 * k));
    expect(Array.from(out.subarray(m * n))).toEqual([-7, -7]);
  });

  it('k = 0 gives zeros and empty outputs are a no-op', () => {
    setGpujsMode(mode);
    const out = new Float32Array(6).fill(3);
    matmulGpujs(new Float32Array(0), new Float32Array(0), out, 1, 2, 0, 3, false, false);
    expect(Array.from(out)).toEqual([0, 0, 0, 0, 0, 0]);
    matmulGpujs(new Float32Array(0), new Float32Array(0), new Float32Array(0), 0, 2, 3, 4, true, true);
  });

  it('reports itself as the live mode', () => {
    setGpujsMode(mode);
    const info = gpujsInfo();
    expect(info.mode).toBe(mode);
    expect(info.reason.startsWith(mode)).toBe(true);
  });
});

describe('CI mode expectation', () => {
  it.runIf(process.env['METAGRAD_EXPECT_MODE'] === 'headlessgl')('auto selects headlessgl (METAGRAD_EXPECT_MODE=headlessgl)', () => {
    const info = setGpujsMode('auto');
    expect(info.mode, info.reason).toBe('headlessgl');
    expect(info.isGpu).toBe(true);
    expect(info.reason).toMatch(/^headlessgl: gl loaded, DISPLAY=/);
    expect(check(2, 17, 33, 9, true, false, 11)).toBeLessThan(1e-5);
  });
});
