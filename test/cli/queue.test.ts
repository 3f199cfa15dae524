import { describe, expect, it } from 'vitest';
import { resolveConfig } from '@metagrad/rl';
import { sweepJobId } from '../../packages/cli/src/queue.js';

describe('sweep job ids', () => {
  it('name the run: the same for settings that change how it computes (workers, threads, jit), another for anything that changes its numbers or its directory', () => {
    const base = resolveConfig({ algo: 'promp', env: 'point-corner', seed: 3 });
    const id = sweepJobId(base, 'sweeps/a/point-corner/runs/promp-s3');
    expect(id).toMatch(/^point-corner\.promp\.s3\.[0-9a-f]{12}$/);
    expect(sweepJobId({ ...base, workers: 2, threads: 2, jit: false }, 'sweeps/a/point-corner/runs/promp-s3')).toBe(id);
    expect(sweepJobId({ ...base, clipEps: 0.2 }, 'sweeps/a/point-corner/runs/promp-s3')).not.toBe(id);
    expect(sweepJobId({ ...base, seed: 4 }, 'sweeps/a/point-corner/runs/promp-s3')).not.toBe(id);
    expect(sweepJobId(base, 'sweeps/b/point-corner/runs/promp-s3')).not.toBe(id);
  });
});
