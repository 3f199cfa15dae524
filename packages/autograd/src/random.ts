/**
 * The project's one random-number generator: xoshiro128** (Blackman & Vigna), seeded through
 * splitmix32. Every stochastic function in metagrad takes an `Rng`, so a seed fixes a run bit for bit.
 * The state is four uint32 words; `state()` / `Rng.fromState()` round-trip it for checkpoints, and
 * `fork()` derives an independent stream (for a worker or a sub-task) without touching global state.
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare: number | null = null;

  /** A generator seeded from an integer (any JS number; non-integers are truncated). */
  constructor(seed = 0) {
    if (!Number.isFinite(seed)) throw new Error(`Rng: seed must be a finite number, got ${seed}`);
    // splitmix32 expands the seed into four well-mixed words (never all zero).
    let x = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
    const hi = Math.trunc(seed / 2 ** 32) >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x ^ hi;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Rebuilds a generator from `state()`. */
  static fromState(state: readonly number[]): Rng {
    if (state.length !== 5 && state.length !== 4) throw new Error(`Rng.fromState: expected 4 or 5 numbers, got ${state.length}`);
    const r = new Rng(0);
    r.s0 = state[0]! >>> 0;
    r.s1 = state[1]! >>> 0;
    r.s2 = state[2]! >>> 0;
    r.s3 = state[3]! >>> 0;
    r.spare = state.length === 5 && !Number.isNaN(state[4]!) ? state[4]! : null;
    return r;
  }

  /** The full state, JSON-safe: four uint32 words and the cached normal (NaN when none). */
  state(): number[] {
    return [this.s0, this.s1, this.s2, this.s3, this.spare ?? NaN];
  }

  /** Next uint32 (xoshiro128**). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform in [lo, hi). */
  uniformIn(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Standard normal N(0, 1) by the Box–Muller transform (pairs cached). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`Rng.int: n must be a positive integer, got ${n}`);
    return Math.floor(this.uniform() * n);
  }

  /** Index drawn from the (unnormalized, non-negative) weights `p`. */
  categorical(p: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < p.length; i++) total += p[i]!;
    if (!(total > 0) || !Number.isFinite(total)) throw new Error(`Rng.categorical: weights must be non-negative with a positive finite sum, got sum ${total}`);
    let u = this.uniform() * total;
    for (let i = 0; i < p.length; i++) {
      u -= p[i]!;
      if (u < 0) return i;
    }
    return p.length - 1;
  }

  /** An independent generator derived from this one's next outputs (advances this one). */
  fork(): Rng {
    const r = new Rng(0);
    r.s0 = this.nextUint32();
    r.s1 = this.nextUint32();
    r.s2 = this.nextUint32();
    r.s3 = this.nextUint32();
    if ((r.s0 | r.s1 | r.s2 | r.s3) === 0) r.s0 = 1;
    return r;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
