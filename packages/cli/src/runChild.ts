/**
 * The child process of `executeRuns` with several jobs: receives one RunPlan over IPC, trains it exactly
 * as the parent would in-process (same `train`, same files), and reports each phase and finished
 * iteration back so that the parent's progress bar spans all runs.
 */
import { trainInDir } from './rundir.js';
import { installGpuBackend } from './gpu.js';
import type { RunPlan } from './runs.js';

/** Messages from a child to the parent. */
export type ChildMessage =
  | { type: 'iteration'; rec: { iteration: number; envSteps: number; returns: number[] } }
  | { type: 'phase'; phase: string; done: number; total: number }
  | { type: 'done' }
  | { type: 'error'; message: string };

const send = (m: ChildMessage): Promise<void> => new Promise((ok) => process.send!(m, () => ok()));

// The parent went away (killed, or stopped after another run failed): stop too. The checkpoint of the last
// finished iteration stays, and rerunning the parent's command resumes from it.
process.once('disconnect', () => process.exit(130));

process.once('message', (plan: RunPlan) => {
  installGpuBackend().then(() => trainInDir(plan.config, plan.outDir, {
    resume: plan.mode === 'resume',
    hooks: {
      onIteration: (r) => void send({ type: 'iteration', rec: { iteration: r.iteration, envSteps: r.envSteps, returns: r.returns } }),
      onPhase: (phase, done, total) => void send({ type: 'phase', phase, done, total }),
    },
  })).then(
    () => send({ type: 'done' }).then(() => process.exit(0)),
    (e: unknown) => send({ type: 'error', message: (e as Error)?.message ?? String(e) }).then(() => process.exit(1)),
  );
});
