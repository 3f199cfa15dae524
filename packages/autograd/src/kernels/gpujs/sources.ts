/**
 * Kernel sources for the gpu.js matmul, generated as strings so the transpose flags are baked into
 * the code (gpu.js accepts a kernel as source text). Sizes go in as `this.constants`, which gpu.js
 * bakes into the compiled shader / wasm module as literals, so every loop has a constant bound.
 *
 * Two families:
 * - GL (headlessgl / webgl / webgl2): two "pack" kernels gather op(A) rows and op(B) columns into
 *   vec4 textures that are contiguous in k (zero-padded), kept on the GPU (`pipeline: true`), and a
 *   2×2-register-blocked kernel reads one texel (4 values of k) per fetch and returns 4 outputs per
 *   fragment. That cuts texture fetches 8× against the naive one-scalar-per-fetch kernel.
 * - scalar (webasm / cpu): one output per thread, flat Float32Array inputs, k loop unrolled by 4.
 */

/** Packs op(A) (one batch slice per z) into vec4 texels: texel (z, row, q) = A(row, 4q..4q+3). */
export function packASource(transA: boolean): string {
  // a is passed as input(a, dims) so the reads below are 3-D lookups: gpu.js computes the flat index
  // with ints inside its texture getter, exact for any size (flat float index math is exact only < 2^24).
  const at = (p: string): string => (transA ? `a[z][${p}][row]` : `a[z][row][${p}]`);
  return `function packA(a) {
  const z = this.thread.z;
  const row = this.thread.y;
  const q = this.thread.x * 4;
  let v0 = 0.0;
  let v1 = 0.0;
  let v2 = 0.0;
  let v3 = 0.0;
  if (row < this.constants.M) {
    if (q < this.constants.K) { v0 = ${at('q')}; }
    if (q + 1 < this.constants.K) { v1 = ${at('q + 1')}; }
    if (q + 2 < this.constants.K) { v2 = ${at('q + 2')}; }
    if (q + 3 < this.constants.K) { v3 = ${at('q + 3')}; }
  }
  return [v0, v1, v2, v3];
}`;
}

/** Packs op(B) columns into vec4 texels: texel (z, col, q) = B(4q..4q+3, col). */
export function packBSource(transB: boolean): string {
  const at = (p: string): string => (transB ? `b[z][col][${p}]` : `b[z][${p}][col]`);
  return `function packB(b) {
  const z = this.thread.z;
  const col = this.thread.y;
  const q = this.thread.x * 4;
  let v0 = 0.0;
  let v1 = 0.0;
  let v2 = 0.0;
  let v3 = 0.0;
  if (col < this.constants.N) {
    if (q < this.constants.K) { v0 = ${at('q')}; }
    if (q + 1 < this.constants.K) { v1 = ${at('q + 1')}; }
    if (q + 2 < this.constants.K) { v2 = ${at('q + 2')}; }
    if (q + 3 < this.constants.K) { v3 = ${at('q + 3')}; }
  }
  return [v0, v1, v2, v3];
}`;
}

/**
 * 2×2 block of C per fragment from the packed textures; the k loop walks `unroll` texels (4·unroll
 * values of k) per iteration, so the packed k extent Q must be a multiple of `unroll`. Output texel
 * (z, y, x) = [C(2y,2x), C(2y,2x+1), C(2y+1,2x), C(2y+1,2x+1)].
 */
export function glMatmulSource(unroll: number): string {
  const dot = (a: string, b: string): string =>
    `${a}[0] * ${b}[0] + ${a}[1] * ${b}[1] + ${a}[2] * ${b}[2] + ${a}[3] * ${b}[3]`;
  const loads: string[] = [];
  const s00: string[] = [];
  const s01: string[] = [];
  const s10: string[] = [];
  const s11: string[] = [];
  for (let u = 0; u < unroll; u++) {
    const q = u === 0 ? 'q' : `q + ${u}`;
    loads.push(
      `    const a${u}r0 = a4[z][r0][${q}];`, `    const a${u}r1 = a4[z][r0 + 1][${q}];`,
      `    const b${u}c0 = b4[z][c0][${q}];`, `    const b${u}c1 = b4[z][c0 + 1][${q}];`,
    );
    s00.push(dot(`a${u}r0`, `b${u}c0`));
    s01.push(dot(`a${u}r0`, `b${u}c1`));
    s10.push(dot(`a${u}r1`, `b${u}c0`));
    s11.push(dot(`a${u}r1`, `b${u}c1`));
  }
  return `function mm(a4, b4) {
  const z = this.thread.z;
  const r0 = this.thread.y * 2;
  const c0 = this.thread.x * 2;
  let s00 = 0.0;
  let s01 = 0.0;
  let s10 = 0.0;
  let s11 = 0.0;
  for (let q = 0; q < this.constants.Q; q += ${unroll}) {
${loads.join('\n')}
    s00 += ${s00.join(' + ')};
    s01 += ${s01.join(' + ')};
    s10 += ${s10.join(' + ')};
    s11 += ${s11.join(' + ')};
  }
  return [s00, s01, s10, s11];
}`;
}

/**
 * One batch slice, one output per thread (x = column, y = row). `flat` reads the Float32Arrays with
 * flat indices (fastest on webasm, exact while every index is below 2^24); otherwise the inputs are
 * passed as input(x, dims) and read 2-D. The k loop is unrolled by 4 into four partial sums; the
 * constant K4 is K rounded down to a multiple of 4 and the remainder runs in a tail loop.
 */
export function scalarMatmulSource(transA: boolean, transB: boolean, flat: boolean): string {
  const A = (p: string): string =>
    flat
      ? transA ? `a[(${p}) * this.constants.M + row]` : `a[row * this.constants.K + ${p}]`
      : transA ? `a[${p}][row]` : `a[row][${p}]`;
  const B = (p: string): string =>
    flat
      ? transB ? `b[col * this.constants.K + ${p}]` : `b[(${p}) * this.constants.N + col]`
      : transB ? `b[col][${p}]` : `b[${p}][col]`;
  return `function mm(a, b) {
  const row = this.thread.y;
  const col = this.thread.x;
  let s0 = 0.0;
  let s1 = 0.0;
  let s2 = 0.0;
  let s3 = 0.0;
  for (let i = 0; i < this.constants.K4; i += 4) {
    s0 += ${A('i')} * ${B('i')};
    s1 += ${A('i + 1')} * ${B('i + 1')};
    s2 += ${A('i + 2')} * ${B('i + 2')};
    s3 += ${A('i + 3')} * ${B('i + 3')};
  }
  for (let j = this.constants.K4; j < this.constants.K; j++) {
    s0 += ${A('j')} * ${B('j')};
  }
  return (s0 + s1) + (s2 + s3);
}`;
}

/**
 * webgpu (WGSL compute shader from gpu.js): a 2×2 block of C per invocation, read straight from A and
 * B in their stored layouts (storage buffers need no packing pass). Inputs come as input(x, [.., .., batch])
 * so the reads are 3-D lookups whose flat index gpu.js computes in integers. The block's second row and
 * column are clamped into range (their results are dropped when m or n is odd). Output texel (z, y, x)
 * = [C(2y,2x), C(2y,2x+1), C(2y+1,2x), C(2y+1,2x+1)], the GL kernel's layout.
 */
export function webgpuMatmulSource(transA: boolean, transB: boolean): string {
  const A = (r: string, p: string): string => (transA ? `a[z][${p}][${r}]` : `a[z][${r}][${p}]`);
  const B = (p: string, c: string): string => (transB ? `b[z][${c}][${p}]` : `b[z][${p}][${c}]`);
  return `function mm(a, b) {
  const z = this.thread.z;
  const r0 = this.thread.y * 2;
  const c0 = this.thread.x * 2;
  const r1 = Math.min(r0 + 1, this.constants.M - 1);
  const c1 = Math.min(c0 + 1, this.constants.N - 1);
  let s00 = 0.0;
  let s01 = 0.0;
  let s10 = 0.0;
  let s11 = 0.0;
  for (let p = 0; p < this.constants.K; p++) {
    const a0 = ${A('r0', 'p')};
    const a1 = ${A('r1', 'p')};
    const b0 = ${B('p', 'c0')};
    const b1 = ${B('p', 'c1')};
    s00 += a0 * b0;
    s01 += a0 * b1;
    s10 += a1 * b0;
    s11 += a1 * b1;
  }
  return [s00, s01, s10, s11];
}`;
}
