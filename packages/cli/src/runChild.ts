/**
 * The child process a run trains in (`executeRuns`: always for the `metagrad` executable, and for
 * `--jobs N`): receives one RunPlan over IPC, trains it exactly as the parent would in-process (same
 * `trainInDir`, same files), and reports notices, each phase and each finished iteration back so that
 * the parent's progress display spans all runs. It installs no signal handler: Ctrl-C (SIGINT) ends it
 * at once, whatever it is computing, and its last checkpoint is on disk.
 */
import { ConfigError } from '@metagrad/rl';
import { RunLockedError, RunLogError, trainInDir } from './rundir.js';
import { installGpuBackend } from './gpu.js';
import type { RunPlan } from './runs.js';

/** Messages from a child to the parent. */
export type ChildMessage =
  | { type: 'iteration'; rec: { iteration: number; envSteps: number; returns: number[]; diverged: number[] } }
  | { type: 'phase'; phase: string; done: number; total: number }
  | { type: 'notice'; line: string }
  | { type: 'done' }
  | { type: 'error'; message: string; usage: boolean; name?: string };

const send = (m: ChildMessage): Promise<void> => new Promise((ok) => process.send!(m, () => ok()));

// The parent went away (killed, or stopped after another run failed): stop too. The checkpoint of the last
// finished iteration stays, and rerunning the parent's command resumes from it.
process.once('disconnect', () => process.exit(130));

process.once('message', (plan: RunPlan) => {
  installGpuBackend().then(() => trainInDir(plan.config, plan.outDir, {
    resume: plan.mode === 'resume',
    repairLog: plan.repairLog === true,
    notice: (line) => void send({ type: 'notice', line }),
    hooks: {
      onIteration: (r) => void send({ type: 'iteration', rec: { iteration: r.iteration, envSteps: r.envSteps, returns: r.returns, diverged: r.diverged } }),
      onPhase: (phase, done, total) => void send({ type: 'phase', phase, done, total }),
    },
  })).then(
    () => send({ type: 'done' }).then(() => process.exit(0)),
    (e: unknown) => {
      // problems with the run directory or the config are the user's to fix: the CLI reports them as bad input
      const usage = e instanceof RunLockedError || e instanceof RunLogError || e instanceof ConfigError;
      return send({ type: 'error', message: (e as Error)?.message ?? String(e), usage, name: (e as Error)?.name }).then(() => process.exit(usage ? 2 : 1));
    },
  );
});
