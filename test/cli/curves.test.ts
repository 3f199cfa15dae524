/**
 * Learning-curve reports from synthetic run directories: reading log.jsonl / log.csv, grouping by
 * algorithm, aggregating seeds (mean, min–max, ±std), final returns, and SVG/PNG output.
 */
import { describe, it, expect } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cumulativeSteps, finalReturns, findRunDirs, returnsAtBudgets, learningCurves, learningCurveSpec, readRun, smooth, writeLearningCurves, RunReadError,
} from 'metagrad';
import { explorationSpec } from 'metagrad';
import { reportMarkdown } from 'metagrad';
import { measureTextWidth, renderSvg, vegaTextWidth } from 'metagrad';

/** Writes a fake run: returns[k] = offset + iteration·(k+1). */
export function fakeRun(dir: string, algo: string, seed: number, iters: number, offset: number, opts: { csv?: boolean; K?: number } = {}): string {
  mkdirSync(dir, { recursive: true });
  const K = opts.K ?? 1;
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ algo, env: 'point-corner', seed, iterations: iters }));
  const recs = Array.from({ length: iters }, (_, i) => ({ iteration: i, envSteps: 1000 * (i + 1), returns: Array.from({ length: K + 1 }, (_, k) => offset + i * (k + 1)) }));
  if (opts.csv) {
    const head = ['iteration', 'env_steps', ...Array.from({ length: K + 1 }, (_, k) => `return_${k}`), 'loss_before'];
    writeFileSync(join(dir, 'log.csv'), [head.join(','), ...recs.map((r) => [r.iteration, r.envSteps, ...r.returns, 0].join(','))].join('\n') + '\n');
  } else writeFileSync(join(dir, 'log.jsonl'), recs.map((r) => JSON.stringify({ ...r, lossBefore: 0 })).join('\n') + '\n');
  return dir;
}

describe('learning curves', () => {
  const root = mkdtempSync(join(tmpdir(), 'curves-'));
  const a1 = fakeRun(join(root, 'runs', 'promp-s1'), 'promp', 1, 4, 0);
  const a2 = fakeRun(join(root, 'runs', 'promp-s2'), 'promp', 2, 4, 2);
  const b1 = fakeRun(join(root, 'runs', 'maml-s1'), 'maml-trpo', 1, 3, 10, { csv: true });

  it('reads jsonl and csv logs', () => {
    const r = readRun(a1);
    expect(r.algo).toBe('promp');
    expect(r.records).toHaveLength(4);
    expect(r.records[2]).toEqual({ iteration: 2, envSteps: 3000, returns: [2, 4] });
    expect(readRun(b1).records[1]).toEqual({ iteration: 1, envSteps: 2000, returns: [11, 12] });
  });

  it('expands a directory of runs and rejects non-runs', () => {
    expect(findRunDirs([root]).sort()).toEqual([a1, a2, b1].sort());
    expect(() => findRunDirs([join(root, 'nope')])).toThrow(RunReadError);
    const empty = join(root, 'empty');
    mkdirSync(empty);
    expect(() => findRunDirs([empty])).toThrow(/no config.json/);
  });

  it('aggregates seeds: mean, min–max band, ±std band', () => {
    const runs = [a1, a2, b1].map(readRun);
    const pts = learningCurves(runs);
    const p = pts.find((x) => x.algo === 'promp' && x.phase === 'post-update' && x.iteration === 3)!;
    // seed 1: 0 + 3·2 = 6, seed 2: 2 + 6 = 8
    expect(p).toMatchObject({ steps: 4000, mean: 7, min: 6, max: 8, lo: 6, hi: 8, seeds: 2 });
    expect(p.std).toBeCloseTo(Math.SQRT2, 12);
    const s = learningCurves(runs, { band: 'std' }).find((x) => x.algo === 'promp' && x.phase === 'pre-update' && x.iteration === 0)!;
    expect(s.lo).toBeCloseTo(1 - Math.SQRT2, 12);
    expect(pts.filter((x) => x.algo === 'maml-trpo')).toHaveLength(6);
  });

  it('final returns average the last iterations, then seeds', () => {
    const f = finalReturns([a1, a2].map(readRun), 2);
    expect(f).toHaveLength(1);
    // last two iterations: pre (2+3)/2 = 2.5 and 4.5 → mean 3.5; post (4+6)/2 = 5 and 7 → 6
    expect(f[0]!.pre.mean).toBeCloseTo(3.5, 12);
    expect(f[0]!.post!.mean).toBeCloseTo(6, 12);
    expect(f[0]!.envSteps).toBe(4000);
    expect(f[0]!.policyStd).toBeNull(); // these logs predate the policy_std column
  });

  it('returns at fractions of the budget: each run cut there, then the final-returns averaging', () => {
    const runs = [a1, a2, b1].map(readRun);
    const [q, h, all] = returnsAtBudgets(runs, [0.25, 0.5, 1], 2);
    // promp (4 iterations): a quarter keeps 1 iteration (post 0 and 2), half keeps 2 (post (0+2)/2 = 1 and 3)
    const promp = (b: typeof q): ReturnType<typeof finalReturns>[number] => b!.finals.find((f) => f.algo === 'promp')!;
    expect(promp(q).post!.mean).toBeCloseTo(1, 12);
    expect(promp(q).envSteps).toBe(1000);
    expect(promp(h).post!.mean).toBeCloseTo(2, 12);
    expect(promp(h).envSteps).toBe(2000);
    expect(all!.finals).toEqual(finalReturns(runs, 2));
    // maml-trpo (3 iterations): a quarter rounds to 1 iteration, half to 2 (round(1.5))
    expect(h!.finals.find((f) => f.algo === 'maml-trpo')!.post!.mean).toBeCloseTo((10 + 12) / 2, 12);
    expect(() => returnsAtBudgets(runs, [0])).toThrow(RangeError);
    expect(() => returnsAtBudgets(runs, [1.5])).toThrow(/in \(0, 1\]/);
  });

  it('the report shows the returns along the way, the best of each budget in bold', () => {
    const runs = [a1, a2, b1].map(readRun);
    const md = reportMarkdown({
      title: 't', command: 'c', setup: {}, finals: finalReturns(runs, 1), lastK: 1, budgets: returnsAtBudgets(runs, [0.5, 1], 1),
      figures: [], runs: [], wallSeconds: 0,
    }, join(root, 'report.md'));
    expect(md).toContain('## Along the way');
    // half: promp keeps 2 iterations (post 2 and 4 → 3.00 ± 1.41), maml-trpo 2 of 3 (post 12, from csv, one seed)
    expect(md).toMatch(/\| algorithm \| 50 % \(2,000 steps\) \| 100 % \|/); // the groups end at different step counts
    expect(md).toContain('| promp | 3.00 ± 1.41 | 7.00 ± 1.41 |');
    expect(md).toContain('| maml-trpo | **12.00** | **14.00** |');
  });

  it('final policy σ: the last iteration of each seed, from jsonl and csv logs', () => {
    const d = join(root, 'sigma');
    const s1 = fakeRun(join(d, 'p-s1'), 'promp', 1, 3, 0);
    const s2 = fakeRun(join(d, 'p-s2'), 'promp', 2, 3, 0, { csv: true });
    const withStd = (dir: string, file: string, stds: number[]): void => {
      const path = join(dir, file);
      const lines = readFileSync(path, 'utf8').trim().split('\n');
      const out = file.endsWith('.jsonl')
        ? lines.map((l, i) => JSON.stringify({ ...JSON.parse(l), policyStd: stds[i] }))
        : lines.map((l, i) => `${l},${i === 0 ? 'policy_std' : stds[i - 1]}`);
      writeFileSync(path, out.join('\n') + '\n');
    };
    withStd(s1, 'log.jsonl', [1, 0.9, 0.8]);
    withStd(s2, 'log.csv', [1, 0.7, 0.6]);
    expect(readRun(s2).records[1]!.policyStd).toBe(0.7);
    const f = finalReturns([s1, s2].map(readRun), 2)[0]!;
    expect(f.policyStd!.mean).toBeCloseTo(0.7, 12); // last iterations 0.8 and 0.6
    expect(f.policyStd!.std).toBeCloseTo(Math.SQRT2 / 10, 12);
  });

  it('training time per run: the sum of the logged iteration times, from jsonl timings and the csv time_total column', () => {
    const d = join(root, 'time');
    const j = fakeRun(join(d, 'p-s1'), 'promp', 1, 3, 0);
    const c = fakeRun(join(d, 'p-s2'), 'promp', 2, 3, 0, { csv: true });
    const jl = readFileSync(join(j, 'log.jsonl'), 'utf8').trim().split('\n');
    writeFileSync(join(j, 'log.jsonl'), jl.map((l, i) => JSON.stringify({ ...JSON.parse(l), timings: { total: 10 * (i + 1) } })).join('\n') + '\n');
    const cl = readFileSync(join(c, 'log.csv'), 'utf8').trim().split('\n');
    writeFileSync(join(c, 'log.csv'), cl.map((l, i) => `${l},${i === 0 ? 'time_total' : 20}`).join('\n') + '\n');
    const f = finalReturns([j, c].map(readRun))[0]!;
    expect(f.seconds!.mean).toBeCloseTo(60, 12); // 10 + 20 + 30 and 3 × 20
    expect(f.seconds!.std).toBe(0);
    expect(finalReturns([a1].map(readRun))[0]!.seconds).toBeNull(); // logs without timings
    const md = reportMarkdown({ title: 't', command: 'c', setup: {}, finals: [f], lastK: 1, figures: [], runs: [], wallSeconds: 0 }, join(root, 'r.md'));
    expect(md).toMatch(/\| — \| 1\.0 min \|\n/); // these logs lack σ: the row ends with σ '—' and the time
  });

  it('smoothing and step accumulation', () => {
    expect(smooth([1, 3, 5, 7], 2)).toEqual([1, 2, 4, 6]);
    expect(cumulativeSteps([{ iteration: 0, envSteps: 5, returns: [0] }, { iteration: 1, envSteps: 5, returns: [0] }])).toEqual([5, 10]);
  });

  it('renders SVG and PNG, faceting several envs', async () => {
    const runs = [a1, a2, b1].map(readRun);
    const { svg, png } = await writeLearningCurves(runs, join(root, 'out', 'curves'));
    const text = readFileSync(svg, 'utf8');
    expect(text).toContain('<svg');
    expect(text).toContain('environment steps');
    expect(text).toContain('maml-trpo');
    expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
    const other = { ...runs[0]!, env: 'point-goal' };
    const spec = learningCurveSpec(learningCurves([...runs, other])) as unknown as Record<string, unknown>;
    expect(spec.facet).toBeDefined();
    expect(existsSync(join(root, 'out', 'curves.png'))).toBe(true);
  });
});

describe('chart text layout', () => {
  it('measures text as resvg draws it (DejaVu Sans), not with Vega’s 0.8 em per character guess', () => {
    const s = 'fresh task with the median post-update return; red: after 3 inner steps';
    const w = measureTextWidth(s, { size: 13 })!;
    expect(w).toBeGreaterThan(0.45 * 13 * s.length); // DejaVu Sans averages ≈ 0.5 em per character of prose
    expect(w).toBeLessThan(0.6 * 13 * s.length);
    expect(measureTextWidth(s, { size: 26 })!).toBeGreaterThan(1.9 * w); // scales with the size
    expect(measureTextWidth(s, { size: 13, weight: 'bold' })!).toBeGreaterThan(w);
    expect(measureTextWidth('   ')).toBe(0);
  });

  it('without a font to measure with (a bare container), widths fall back to Vega’s 0.8 em per character, also for length-limited labels', () => {
    const none = (): null => null;
    expect(vegaTextWidth({ fontSize: 10 }, 'abcdef', none)).toBe(48);
    expect(vegaTextWidth({ text: 'abcdef' }, undefined, none)).toBe(Math.floor(0.8 * 6 * 11)); // Vega's default size
    // a label with a length limit: the fallback is computed here (Vega's own estimate truncates such a label by
    // calling the measurer again, which without a font recursed without end), so the limit plays no part
    expect(vegaTextWidth({ fontSize: 10, limit: 30, text: 'a label far longer than its limit' }, undefined, none)).toBe(Math.floor(0.8 * 33 * 10));
    // with a font, the measured width
    expect(vegaTextWidth({ fontSize: 13 }, 'abcdef')).toBe(measureTextWidth('abcdef', { size: 13 }));
  });

  it('a long subtitle no longer widens a one-panel figure with empty space', async () => {
    const subtitle = 'fresh task with the median post-update return; red: after 3 inner steps';
    const panel = { algo: 'ProMP', goal: [-2, 2] as [number, number], paths: [{ phase: 'pre-update' as const, points: [[0, 0], [0.5, 0.5]] as [number, number][] }] };
    const svg = await renderSvg(explorationSpec([panel], { title: 'ProMP on point-corner', subtitle, size: 260 }));
    const width = Number(/<svg[^>]* width="([\d.]+)"/.exec(svg)![1]);
    expect(width).toBeLessThan(measureTextWidth(subtitle, { size: 13 })! + 30); // was 691 px with the guess
    expect(width).toBeGreaterThan(260 + 100); // the panel, its axis and the legend still fit
  });
});
