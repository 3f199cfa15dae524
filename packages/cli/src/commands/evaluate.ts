/**
 * `metagrad eval RUN`: adapts the trained meta-policy on freshly sampled tasks and reports the average
 * return before adaptation and after each inner step; writes RUN/eval.json.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluate } from '@metagrad/rl';
import { RUN_FILES, checkRunDir, readCheckpoint, readRun, readRunConfig } from '../rundir.js';
import { UsageError, fmt, formatDuration, parseInteger, println, type CliIO } from '../io.js';
import { stepLabels } from './train.js';

/** Flags of `metagrad eval`. */
export interface EvalFlags {
  tasks?: string;
  seed?: string;
  out?: string;
  /** Print eval.json's content on stdout instead of the table. */
  json?: boolean;
}

/** What eval.json holds. */
export interface EvalFile {
  run: string;
  algo: string;
  env: string;
  iterations: number;
  tasks: number;
  seed: number;
  /** Average return at inner step 0 (pre-update) … K (post-update). */
  returns: number[];
  /** As returned by evaluate(): per-task returns. */
  perTask: number[][];
  seconds: number;
  date: string;
}

/** Checks the run and flags of `eval`; throws UsageError. */
export function planEval(runDir: string, f: EvalFlags): { tasks: number; seed: number; out: string } {
  checkRunDir(runDir);
  if (!existsSync(join(runDir, RUN_FILES.checkpoint))) throw new UsageError(`'${runDir}' has no ${RUN_FILES.checkpoint}: train it first`);
  try {
    readCheckpoint(runDir, readRunConfig(runDir));
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]!); // a damaged run directory is bad input, as for train --resume
  }
  return { tasks: parseInteger('tasks', f.tasks ?? '40')!, seed: parseInteger('seed', f.seed ?? '99', 0)!, out: f.out ?? join(runDir, RUN_FILES.eval) };
}

/** Runs evaluate() on a run directory and writes the eval file; returns its content. */
export async function evaluateRun(runDir: string, tasks: number, seed: number, out: string, io: CliIO): Promise<EvalFile> {
  const run = readRun(runDir);
  const t0 = performance.now();
  let lastPhase = '';
  const res = await evaluate(readRunConfig(runDir), readCheckpoint(runDir), {
    tasks, seed,
    hooks: {
      onPhase: (phase) => {
        if (phase !== lastPhase && io.stderr.isTTY) io.stderr.write(`\r  eval: ${phase}${' '.repeat(20)}`);
        lastPhase = phase;
      },
    },
  });
  if (io.stderr.isTTY) io.stderr.write('\n');
  const file: EvalFile = {
    run: runDir, algo: run.algo, env: run.env, iterations: run.records.length, tasks, seed,
    returns: res.returns, perTask: res.perTask, seconds: (performance.now() - t0) / 1000, date: new Date().toISOString(),
  };
  writeFileSync(out, `${JSON.stringify(file, null, 2)}\n`);
  return file;
}

/** Runs `metagrad eval`. */
export async function evalCommand(runDir: string, f: EvalFlags, io: CliIO): Promise<void> {
  const { tasks, seed, out } = planEval(runDir, f);
  println(io.stderr, `evaluating ${runDir} on ${tasks} fresh tasks (seed ${seed})`);
  const e = await evaluateRun(runDir, tasks, seed, out, io);
  if (f.json) {
    println(io.stdout, JSON.stringify(e));
    return;
  }
  const labels = stepLabels(e.returns.length - 1);
  println(io.stdout, `${e.algo} on ${e.env} after ${e.iterations} iterations, ${tasks} tasks, seed ${seed} (${formatDuration(e.seconds)}):`);
  const w = Math.max(...labels.map((l) => l.length));
  e.returns.forEach((r, k) => println(io.stdout, `  ${labels[k]!.padEnd(w)}  ${fmt(r, 3)}`));
  println(io.stdout, `wrote ${out}`);
}
