/**
 * `npm start` (until the trainer lands): the Hessian of a small policy-gradient objective by double
 * backward, checked block by block against central finite differences, and a MAML-style meta-gradient
 * with its second-order term made visible.
 */
import { Rng, Tensor, add, grad, hessian, randn, sub, tensor } from './index.js';

const rng = new Rng(1);
const [dObs, dH, dAct, N] = [3, 4, 2, 64];
const blocks: [string, number[]][] = [['W1', [dObs, dH]], ['b1', [dH]], ['W2', [dH, dAct]], ['b2', [dAct]], ['logStd', [dAct]]];
const sizes = blocks.map(([, s]) => s.reduce((a, b) => a * b, 1));
const n = sizes.reduce((a, b) => a + b, 0);
const obs = randn([N, dObs], rng), act = randn([N, dAct], rng), adv = randn([N], rng);

/** Unpacks the flat parameter vector θ into the policy's blocks. */
function unpack(theta: Tensor): Tensor[] {
  let o = 0;
  return blocks.map(([, shape], i) => {
    const t = theta.slice([o], [o + sizes[i]!]).reshape(shape);
    o += sizes[i]!;
    return t;
  });
}

/** J(θ) = mean_n A_n · log π_θ(a_n | o_n), π_θ = N(tanh(o W1 + b1) W2 + b2, diag exp(2 logStd)). */
function J(theta: Tensor): Tensor {
  const [W1, b1, W2, b2, logStd] = unpack(theta) as [Tensor, Tensor, Tensor, Tensor, Tensor];
  const mu = obs.matmul(W1).add(b1).tanh().matmul(W2).add(b2);
  const z = act.sub(mu).div(logStd.exp());
  const logp = z.square().mul(-0.5).sub(logStd).sub(0.5 * Math.log(2 * Math.PI)).sum(-1);
  return logp.mul(adv).mean();
}

const theta = randn([n], rng).mul(0.5);
const t0 = performance.now();
const H = hessian(J)(theta);
const tH = performance.now() - t0;

// finite differences of the exact gradient, one column per parameter
const h = 1e-5;
const fd = new Float64Array(n * n);
for (let j = 0; j < n; j++) {
  const e = new Float64Array(n);
  e[j] = h;
  const gp = grad(J)(add(theta, tensor(e))).data, gm = grad(J)(sub(theta, tensor(e))).data;
  for (let i = 0; i < n; i++) fd[i * n + j] = (gp[i]! - gm[i]!) / (2 * h);
}

const rows: Record<string, string | number>[] = [];
let oi = 0;
for (let bi = 0; bi < blocks.length; bi++) {
  let oj = 0;
  for (let bj = 0; bj < blocks.length; bj++) {
    let num = 0, den = 0;
    for (let i = oi; i < oi + sizes[bi]!; i++)
      for (let j = oj; j < oj + sizes[bj]!; j++) {
        num = Math.max(num, Math.abs(H.data[i * n + j]! - fd[i * n + j]!));
        den = Math.max(den, Math.abs(fd[i * n + j]!));
      }
    if (bj >= bi) rows.push({ block: `H[${blocks[bi]![0]}, ${blocks[bj]![0]}]`, entries: sizes[bi]! * sizes[bj]!, 'max |H|': +den.toPrecision(4), 'rel. err vs FD': den > 0 ? +(num / den).toExponential(2) : `abs ${num.toExponential(1)}` });
    oj += sizes[bj]!;
  }
  oi += sizes[bi]!;
}

console.log(`metagrad demo: Hessian of J(θ) = mean A·log π_θ(a|o) for a tanh-MLP Gaussian policy (${n} parameters, batch ${N})`);
console.log(`hessian(J) by double backward: ${tH.toFixed(1)} ms; checked against central finite differences of the gradient (h = ${h}):`);
console.table(rows);

// MAML-style meta-gradient: ∇θ J(θ + α∇J(θ)) = (I + αH)∇J(θ'): the αH term is what first-order methods drop
const alpha = 0.1;
const meta = (t: Tensor): Tensor => J(add(t, grad(J)(t).mul(alpha)));
const gMeta = grad(meta)(theta);
const gFirst = grad(J)(add(theta, grad(J)(theta).mul(alpha)));
const diff = sub(gMeta, gFirst).abs().max().item();
console.log(`meta-gradient ∇θ J(θ + ${alpha}∇J(θ)): max |exact − first-order| = ${diff.toExponential(3)} (the α·H·∇J(θ') term)`);
