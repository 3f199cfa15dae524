/**
 * The benchmark workload with its size as parameters, for `npm run bench:scaling`: hidden width H (policy
 * 20 → H → H → 6), batch size N, and k inner steps θ_{i+1} = θ_i + α∇J^LVC(θ_i) on the same pre batch, the
 * meta objective J^LR(θ_k) on the post batch, differentiated with respect to θ_0.
 *
 * The policy functions of policy.ts do not depend on the width (shapes come from the parameters), so they
 * are reused (initPolicy takes the width); only the batch sampling is restated here with k as a parameter. They draw in the same order as policy.ts, so (N = 2000, H = 64, k = 1) reproduces
 * `workloadData()` exactly (scaling.ts checks it, and that the meta-gradient is the same).
 */
import {
  type Tensor, Rng, grad, mean, noGrad, randn,
} from '@metagrad/autograd';
import {
  type Batch, type DType, type PolicyParams, type PostBatch, ACT_DIM, ALPHA, OBS_DIM,
  gaussianLogProb, initPolicy, innerStep, lrObjective, randomDirection, sampleActions,
} from '../policy.js';
import { type LeafData, SEEDS } from '../workloads.js';
import type { PeerData } from './protocol.js';

/** θ_k: k inner steps from θ on the pre batch, each differentiable in θ (second order through all of them). */
export function innerSteps(p: PolicyParams, pre: Batch, steps: number, alpha: number = ALPHA): PolicyParams {
  let q = p;
  for (let i = 0; i < steps; i++) q = innerStep(q, pre, alpha);
  return q;
}

/** J^LR(θ_k) on the post batch: the k-step meta objective (k = 1 is metaObjective of policy.ts). */
export function metaObjectiveSteps(p: PolicyParams, pre: Batch, post: PostBatch, steps: number, alpha: number = ALPHA): Tensor {
  return lrObjective(innerSteps(p, pre, steps, alpha), post);
}

/** ∇θ₀ J^LR(θ_k): the timed meta-gradient of the scaling runs (nothing outlives the call, as in workloads.ts). */
export function metaGradSteps(p: PolicyParams, pre: Batch, post: PostBatch, steps: number, alpha: number = ALPHA): PolicyParams {
  return noGrad(() => grad((q: PolicyParams) => metaObjectiveSteps(q, pre, post, steps, alpha))(p));
}

/** advantages() of policy.ts: N(0, 1) draws standardized to mean 0, std 1. */
function advantages(n: number, rng: Rng, dtype: DType): Tensor {
  return noGrad(() => {
    const a = randn([n], rng, { dtype });
    const centered = a.sub(mean(a));
    return centered.div(mean(centered.square()).sqrt());
  });
}

/** makeBatches (policy.ts) with the post batch sampled from θ_k, the policy after k inner steps. */
export function makeBatchesSteps(params: PolicyParams, seed: number, n: number, steps: number, dtype: DType = params.W1.dtype): { pre: Batch; post: PostBatch } {
  const rng = new Rng(seed);
  const preObs = randn([n, OBS_DIM], rng, { dtype });
  const pre: Batch = { obs: preObs, act: sampleActions(params, preObs, rng), adv: advantages(n, rng, dtype) };
  const adapted = noGrad(() => innerSteps(params, pre, steps));
  const postObs = randn([n, OBS_DIM], rng, { dtype });
  const postAct = sampleActions(adapted, postObs, rng);
  return {
    pre,
    post: { obs: postObs, act: postAct, adv: advantages(n, rng, dtype), logpOld: noGrad(() => gaussianLogProb(adapted, postObs, postAct)) },
  };
}

const leaf = (t: Tensor): LeafData => ({ shape: [...t.shape], data: Array.from(t.data) });
const paramsData = (p: PolicyParams): PeerData['params'] => ({
  W1: leaf(p.W1), b1: leaf(p.b1), W2: leaf(p.W2), b2: leaf(p.b2), W3: leaf(p.W3), b3: leaf(p.b3), logStd: leaf(p.logStd),
});

/** The inputs of a scaled workload as plain float64 data (the structure of workloadData(), plus k and α). */
export function scaledData(n: number, width: number, steps: number): PeerData {
  const params = initPolicy(SEEDS.params, 'float64', width);
  const { pre, post } = makeBatchesSteps(params, SEEDS.batches, n, steps, 'float64');
  return {
    params: paramsData(params),
    pre: { obs: leaf(pre.obs), act: leaf(pre.act), adv: leaf(pre.adv) },
    post: { obs: leaf(post.obs), act: leaf(post.act), adv: leaf(post.adv), logpOld: leaf(post.logpOld) },
    v: paramsData(randomDirection(params, SEEDS.direction)),
    steps, alpha: ALPHA,
  };
}
