#!/usr/bin/env node
/**
 * The `metagrad` executable (bin of the metagrad package, through bin/metagrad.js): runs the CLI on
 * process.argv and exits with its code.
 * Ctrl-C during training stops the run; the checkpoint of the last finished iteration stays, and
 * `metagrad train --resume DIR` continues from it.
 */
import { runCli } from './program.js';
import { activeRun } from './runs.js';

process.once('SIGINT', () => {
  process.stderr.write(activeRun.dir
    ? `\ninterrupted; the last finished iteration is saved: continue with\n  metagrad train --resume ${activeRun.dir}\n`
    : activeRun.several
      ? '\ninterrupted; each run keeps its last finished iteration: rerun the same command to resume them\n'
      : '\ninterrupted\n');
  process.exit(130);
});

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`error: ${(err as Error)?.message ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
