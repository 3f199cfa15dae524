/**
 * The meta-algorithms by name. Each file reads like the paper: promp.ts (Eq. 7), mamlTrpo.ts (Eq. 4 + TRPO),
 * emamlTrpo.ts / emamlVpg.ts (formulation II, Eq. 2, 31), lvcVpg.ts (Eq. 5), diceVpg.ts (Eq. 57); the
 * shared pieces are in common.ts (task-batched policy, inner step, outer surrogates), trpo.ts and vpg.ts.
 */
import type { AlgoName, AlgoSettings, MetaAlgorithm } from './common.js';
import { ProMP } from './promp.js';
import { MamlTrpo } from './mamlTrpo.js';
import { EMamlTrpo } from './emamlTrpo.js';
import { EMamlVpg } from './emamlVpg.js';
import { LvcVpg } from './lvcVpg.js';
import { DiceVpg } from './diceVpg.js';

/** Builds the algorithm `name` with the given settings. */
export function makeAlgorithm(name: AlgoName, s: AlgoSettings): MetaAlgorithm {
  switch (name) {
    case 'promp': return new ProMP(s);
    case 'maml-trpo': return new MamlTrpo(s);
    case 'e-maml-trpo': return new EMamlTrpo(s);
    case 'e-maml-vpg': return new EMamlVpg(s);
    case 'lvc-vpg': return new LvcVpg(s);
    case 'dice-vpg': return new DiceVpg(s);
  }
}

/** The algorithms whose outer update is a step along the meta-gradient (VpgMetaAlgorithm): those with `metaGradient`. */
export const vpgAlgoNames: readonly AlgoName[] = Object.freeze(['e-maml-vpg', 'lvc-vpg', 'dice-vpg'] as const);

export * from './common.js';
export { ALGO_SETTINGS, algoNames, innerObjectives, defaultInnerObjective } from './settings.js';
export type { AlgoConfig } from './settings.js';
export { ProMP, prompLoss, adaptKLCoeff } from './promp.js';
export type { PrompTerms } from './promp.js';
export { MamlTrpo, mamlTrpoObjective } from './mamlTrpo.js';
export { EMamlTrpo } from './emamlTrpo.js';
export { EMamlVpg } from './emamlVpg.js';
export { LvcVpg } from './lvcVpg.js';
export { DiceVpg } from './diceVpg.js';
export { VpgMetaAlgorithm } from './vpg.js';
export type { OuterObjective } from './vpg.js';
export {
  trpoStep, trpoStepOn, trpoOps, conjugateGradient, conjugateGradientWithProduct, trpoLinearization, trpoLinearizationOn, evaluateObjective, dot,
  keepWhileMemoryLasts, graphBytes, CURVATURE_RESERVE_BYTES, CURVATURE_ROOM, collectGarbage,
} from './trpo.js';
export type { TrpoOptions, TrpoResult, TrpoObjective, KeepCurvature } from './trpo.js';
export {
  DEFAULT_CHUNK_ELEMENTS, CHUNK_GROUP, chunkSizes, metaBatchChunks, chunkedValueAndGrad, chunkGradient, chunkedValues, sliceStep, sliceTaskParams, concatTaskParams,
  localRunner, sumInOrder, gradientOp, valueAndGradOn, valuesOp, valuesOn,
} from './chunks.js';
export type { Chunk, ChunkGradient, ChunkOp, ChunkOps, ChunkRunner } from './chunks.js';
