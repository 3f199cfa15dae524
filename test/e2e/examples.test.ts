/** The runnable examples and commands, run as smoke tests: they finish, print, and write what they say. */
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hessianDecompositionExample } from '../../packages/rl/src/examples/hessianDecomposition.js';
import { runGradientVariance } from 'metagrad';

describe('examples and commands', () => {
  it('hessianDecomposition: the identities hold to rounding and LVC is biased', () => {
    const lines: string[] = [];
    const rows = hessianDecompositionExample((s) => lines.push(String(s)));
    const val = (prefix: string): number => Number(rows.find((r) => String(r.quantity).startsWith(prefix))!.value);
    expect(val('‖H1+H2+H12+H12ᵀ − ∇²J‖')).toBeLessThan(1e-12);
    expect(val('‖E[∇²J^DiCE] − ∇²J‖')).toBeLessThan(1e-12);
    expect(val('‖E[∇²J^LVC] − (H1+H2)‖')).toBeLessThan(1e-12);
    expect(val('LVC bias')).toBeGreaterThan(0.01);
    expect(lines.join('\n')).toContain('Exact Hessian decomposition');
  });

  it('gradient variance (Fig. 3): writes JSON, SVG and PNG; DiCE is noisier at small batches', async () => {
    const out = mkdtempSync(join(tmpdir(), 'metagrad-variance-'));
    const { ratios, files } = await runGradientVariance(
      { out, seed: 1, repeats: 40, alpha: 1, horizon: 8, states: 3, actions: 2, batchSizes: [10, 40], nPost: 100 },
      () => {},
    );
    for (const f of files) expect(existsSync(f), f).toBe(true);
    const json = JSON.parse(readFileSync(join(out, 'variance.json'), 'utf8'));
    expect(json.results).toHaveLength(4);
    expect(readFileSync(join(out, 'variance.svg'), 'utf8')).toContain('<svg');
    expect(readFileSync(join(out, 'variance.png')).subarray(1, 4).toString()).toBe('PNG');
    expect(ratios[0]!.ratio).toBeGreaterThan(1);
    // --per-sample: the first estimate of each point split per trajectory; one-batch predictions written
    const ps = await runGradientVariance(
      { out, seed: 1, repeats: 2, alpha: 1, horizon: 8, states: 3, actions: 2, batchSizes: [10, 40], nPost: 100, perSample: true },
      () => {},
    );
    const file = JSON.parse(readFileSync(join(out, 'per-sample.json'), 'utf8'));
    expect(file.points.map((p: { estimator: string; nPre: number; perSample: number[][] }) => [p.estimator, p.nPre, p.perSample.length, p.perSample[0]!.length]))
      .toEqual([['dice', 10, 10, 6], ['lvc', 10, 10, 6], ['dice', 40, 40, 6], ['lvc', 40, 40, 6]]);
    // DiCE's per-trajectory meta-gradients spread more than LVC's (their mean equals the first estimate: test/rl/exact-vmap.test.ts)
    expect(ps.results).toHaveLength(4);
    const dice10 = ps.perSample.find((p) => p.estimator === 'dice' && p.nPre === 10)!, lvc10 = ps.perSample.find((p) => p.estimator === 'lvc' && p.nPre === 10)!;
    expect(dice10.relStd).toBeGreaterThan(lvc10.relStd);
    expect(JSON.parse(readFileSync(join(out, 'variance.json'), 'utf8')).perSample).toHaveLength(4);
    await expect(runGradientVariance({ out, seed: 1, repeats: 1, alpha: 1, horizon: 8, states: 3, actions: 2, batchSizes: [10], nPost: 10 }, () => {})).rejects.toThrow('--repeats must be at least 2');
  });
});
