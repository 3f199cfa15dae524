#!/usr/bin/env node
/**
 * The `metagrad` executable (bin of the metagrad package, through bin/metagrad.js): runs the CLI on
 * process.argv and exits with its code. Runs train in child processes, so Ctrl-C stops them at once: the
 * first Ctrl-C stops every run (each keeps its last finished iteration; files are written atomically),
 * says for each how to continue, and exits 130; a second Ctrl-C exits at once.
 */
import { runCli } from './program.js';
import { execution, interruptRuns } from './runs.js';

execution.isolate = true;

let interrupts = 0;
process.on('SIGINT', () => {
  if (execution.handlesSignals) return; // the command stops itself (metagrad worker)
  interrupts += 1;
  if (interrupts > 1) process.exit(130);
  process.stderr.write('\ninterrupted: stopping (Ctrl-C again to quit at once)\n');
  interruptRuns().then(
    (lines) => {
      for (const l of lines) process.stderr.write(`  ${l}\n`);
      process.exit(130);
    },
    () => process.exit(130),
  );
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
