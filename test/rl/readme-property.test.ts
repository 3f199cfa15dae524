import { describe, it } from 'vitest';
import fc from 'fast-check';
import { type Tensor, grad, hessian } from '@metagrad/autograd';
import { assertAllClose, checkGrads, numericalGrad } from '@metagrad/autograd/testing';
import { likelihoodRatioObjective, lvc } from '@metagrad/rl/estimators';
import { exactAnalysis, exactReturn } from '@metagrad/rl/tabular';
import { arbTabular } from '@metagrad/rl/testing';

describe('the estimators on random tabular MDPs', () => {
  it('E[∇J^DiCE] = E[∇J^LVC] = ∇J by finite differences, and J passes checkGrads to third order', () => {
    fc.assert(
      fc.property(arbTabular.mdp({ S: { max: 3 }, A: { max: 3 }, H: { max: 3 } }), ({ mdp, theta }) => {
        const J = (t: Tensor): Tensor => exactReturn(mdp, t); // J(θ) by dynamic programming, in the engine
        checkGrads(J, [theta], { order: 3 }); // its autodiff derivatives vs finite differences, rev and fwd
        const gradJ = numericalGrad(J, [theta])[0]!.reshape([-1]); // ∇J by finite differences alone
        const x = exactAnalysis(mdp, theta); // the estimators' expectations, over every trajectory
        assertAllClose(x.diceGradMean, gradJ, { rtol: 1e-6, atol: 1e-9, what: 'E[∇J^DiCE]' });
        assertAllClose(x.lvcGradMean, gradJ, { rtol: 1e-6, atol: 1e-9, what: 'E[∇J^LVC]' });
      }),
      { numRuns: 30 },
    );
  });

  it('on a sampled batch, LVC’s gradient and Hessian are those of J^LR at θ = θo, which passes checkGrads', () => {
    fc.assert(
      fc.property(arbTabular.batch({ N: { max: 5 }, ragged: true }), ({ theta, batch, logp, logpOld, returns }) => {
        // J^LR (Eq. 6) has no stopGradient, so finite differences see its derivatives
        const jlr = (t: Tensor): Tensor => likelihoodRatioObjective(logp(t), logpOld, returns, batch.steps);
        checkGrads(jlr, [theta], { order: 2 });
        // LVC (Eq. 5) is a magic-box surrogate: its value is constant in θ, its derivatives are the estimator
        const lvcObjective = (t: Tensor): Tensor => lvc(logp(t), returns, batch.steps);
        assertAllClose(grad(lvcObjective)(theta), grad(jlr)(theta), { rtol: 1e-12, atol: 1e-14, what: 'LVC gradient' });
        assertAllClose(hessian(lvcObjective)(theta), hessian(jlr)(theta), { rtol: 1e-12, atol: 1e-14, what: 'LVC Hessian' });
      }),
      { numRuns: 30 },
    );
  });
});
// ---- README.md shows this file down to the line above, word for word; the check below keeps it so ----

const readmeCheck = await (async () => {
  const { readFileSync } = await import('node:fs');
  const read = (p: string): string => readFileSync(new URL(p, import.meta.url), 'utf8');
  const self = read('./readme-property.test.ts');
  const shown = self.slice(0, self.indexOf('// ---- README.md shows this file'));
  const readme = read('../../README.md');
  const at = readme.indexOf('<!-- test/rl/readme-property.test.ts -->');
  const block = at < 0 ? null : /```ts\n([\s\S]*?)```/.exec(readme.slice(at))?.[1] ?? '';
  return { shown, block };
})();

it.skipIf(readmeCheck.block === null)('README.md’s copy of this property test is this file, word for word', () => {
  if (readmeCheck.block !== `${readmeCheck.shown.trimEnd()}\n`)
    throw new Error('the ```ts block after <!-- test/rl/readme-property.test.ts --> in README.md differs from that file (down to its marker line): copy the file into README.md again');
});
