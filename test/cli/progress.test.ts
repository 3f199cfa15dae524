import { afterEach, describe, expect, it, vi } from 'vitest';
import { Progress } from '../../packages/cli/src/progress.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('progress lines', () => {
  it('give each run its own seconds per iteration when two runs report at once (compare --jobs 2), and the ETA of the rest', () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    let err = '';
    const progress = new Progress({ stdout: { write: () => {} }, stderr: { write: (s: string) => (err += s) } }, 4, '');
    const rec = (iteration: number) => ({ iteration, envSteps: 10 * (iteration + 1), returns: [1, 2] });
    const a = progress.hooks();
    const b = progress.hooks();
    vi.advanceTimersByTime(100_000); // run a's first iteration: 100 s
    progress.setLabel('a');
    a.onIteration(rec(0));
    vi.advanceTimersByTime(20_000); // run b's first iteration ends 120 s after it started
    progress.setLabel('b');
    b.onIteration(rec(0));
    vi.advanceTimersByTime(30_000);
    progress.setLabel('a');
    a.onIteration(rec(1)); // 50 s after a's first
    const lines = err.trim().split('\n');
    expect(lines).toHaveLength(3);
    // the ETA: the elapsed time per iteration finished so far, times the iterations left
    expect(lines[0]).toMatch(/^a {2}it 1 \(1\/4\).* 100\.0s\/it {2}ETA 5m 00s$/);
    expect(lines[1]).toMatch(/^b {2}it 1 \(2\/4\).* 120\.0s\/it {2}ETA 2m 00s$/);
    expect(lines[2]).toMatch(/^a {2}it 2 \(3\/4\).* 50\.0s\/it {2}ETA 50\.0s$/);
    vi.advanceTimersByTime(10_000);
    progress.setLabel('b');
    b.onIteration(rec(1));
    expect(err.trim().split('\n')[3]).toMatch(/^b {2}it 2 \(4\/4\).* 40\.0s\/it$/); // nothing left: no ETA
  });
});
