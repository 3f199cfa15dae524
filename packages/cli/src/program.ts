/**
 * The `metagrad` command line (commander): train, eval, plot, compare, sweep, worker, explore, variance, demo.
 * `runCli(argv, io)` runs it in-process and returns the exit code: 0 done, 1 failed while running,
 * 2 bad input (unknown algo/env, bad number, missing file or run) reported in one line before any work.
 */
import { Command, CommanderError } from 'commander';
import { algoNames, ConfigError, trainEnvNames } from '@metagrad/rl';
import { UsageError, println, type CliIO } from './io.js';
import { installGpuBackend } from './gpu.js';
import { addSettingOptions } from './options.js';
import { RunLockedError, RunLogError, packageVersions } from './rundir.js';
import { InterruptedError } from './runs.js';
import { trainCommand } from './commands/train.js';
import { evalCommand } from './commands/evaluate.js';
import { plotCommand } from './commands/plot.js';
import { compareCommand, DEFAULT_COMPARE_ALGOS, FIG2_ALGOS } from './commands/compare.js';
import { EXPLORE_ARMS, EXPLORE_DEFAULTS, EXPLORE_DEFAULT_ARMS, EXPLORE_DEFAULT_ENV, EXPLORE_ENVS, exploreCommand } from './commands/explore.js';
import { VARIANCE_TRAINING_DEFAULTS, VARIANCE_TRAINING_FLAGS, varianceCommand, varianceTrainingCommand } from './commands/variance.js';
import { DEMO_CONFIG, demoCommand } from './commands/demo.js';
import type * as SweepModule from './commands/sweep.js';
import type * as WorkerModule from './commands/worker.js';

type Opts = Record<string, string | boolean | undefined>;

/** Builds the program; `setTask` receives the chosen subcommand's work, which runCli runs after parsing. */
function buildProgram(io: CliIO, argv: readonly string[], setTask: (t: () => Promise<void>) => void): Command {
  const program = new Command('metagrad');
  // Settings that subcommands copy when they are created: throw instead of process.exit, write to io.
  program.exitOverride().configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) });
  // options after a subcommand are that subcommand's (`sweep status --queue …` is status's --queue, not sweep's)
  program.enablePositionalOptions();
  program
    .description('Meta-RL with second-order autodiff: ProMP, MAML-TRPO, E-MAML, LVC and DiCE (the ProMP paper)')
    .version(packageVersions().metagrad!, '-V, --version');

  const train = program.command('train')
    .description('meta-train one algorithm on one env (progress on stderr; run dir with config.json, log.jsonl, log.csv, checkpoint.json)')
    .option('--algo <name>', `algorithm: ${algoNames.join(', ')}`)
    .option('--env <name>', `environment: ${trainEnvNames.join(', ')}`)
    .option('--config <file>', 'JSON file with TrainConfig fields, flags override it (schema: train-config.schema.json in the metagrad package; a run\'s config.json works too)')
    .option('--out <dir>', 'run directory (default: runs/<algo>-<env>-s<seed>-<time>)')
    .option('--resume <dir>', 'continue the stopped run in <dir> from its checkpoint (with --iterations: extend a finished run)')
    .option('--repair-log', "with --resume: if the run's log.jsonl is damaged, keep its valid records and continue (else training stops naming the bad line)")
    .option('-q, --quiet', 'no progress output');
  addSettingOptions(train).action(() => setTask(() => trainCommand(train.opts() as Opts, io)));

  const evalCmd = program.command('eval <run>')
    .description('adapt the trained meta-policy on fresh tasks; print and write <run>/eval.json (returns per inner step)')
    .option('--tasks <n>', 'tasks to evaluate on', '40')
    .option('--seed <n>', 'seed of the task and rollout sampling', '99')
    .option('--out <file>', 'output file (default: <run>/eval.json)')
    .option('--json', 'print the result as JSON on stdout (what eval.json holds) instead of a table');
  evalCmd.action((run: string) => setTask(() => evalCommand(run, evalCmd.opts() as Opts, io)));

  const plot = program.command('plot <runs...>')
    .description('learning curves (x: env steps, y: post-update return, pre-update dashed) of run dirs, grouped by algorithm, mean and band over seeds; SVG + PNG')
    .option('--out <dir>', 'output directory (default: the run dir for one run, else reports/curves)')
    .option('--name <base>', 'file name without extension', 'learning-curves')
    .option('--band <kind>', 'band over seeds: minmax or std', 'minmax')
    .option('--smooth <n>', 'trailing moving average over n iterations', '1')
    .option('--title <text>', 'chart title (default: "Meta-learning curves: <env>")');
  plot.action((runs: string[]) => setTask(() => plotCommand(runs, plot.opts() as Opts, io)));

  const compare = program.command('compare')
    .description("train several algorithms × seeds on one env, then write report.md and learning curves (the paper's Fig. 2, small budget)")
    .option('--env <name>', `environment: ${trainEnvNames.join(', ')}`)
    .option('--envs <list>', "several environments (the paper's Fig. 2: a report per task in <out>/<env>, and summary.md over them; default --out reports/fig2, default --algos the paper's five)")
    .option('--algos <list>', `comma-separated algorithms (${algoNames.join(', ')}) (default: ${DEFAULT_COMPARE_ALGOS}; with --envs: ${FIG2_ALGOS})`)
    .option('--seeds <n>', 'seeds per algorithm: --seed, --seed + 1, ...', '3')
    .option('--config <file>', 'JSON file with TrainConfig fields shared by all runs')
    .option('--out <dir>', 'report directory (default: reports/compare-<env>); finished runs there are kept, stopped ones resumed')
    .option('--last <n>', 'final returns average the last n iterations (default: a tenth of them)')
    .option('--jobs <n>', 'runs trained at the same time, each in its own process (2 uses both cores of a 2-core machine)', '1')
    .option('--json', 'print the result as JSON on stdout (final returns, returns along the way, runs, files) instead of a table')
    .option('-q, --quiet', 'no progress output');
  addSettingOptions(compare).action(() => setTask(() => compareCommand(compare.opts() as Opts, io, argv)));

  const sweep = program.command('sweep')
    .description("enqueue compare's runs (--env or --envs × --algos × --seeds) on a Redis queue, one job per run with a deterministic id (enqueuing the same sweep twice adds nothing), for `metagrad worker`s on any machine to train into --out; `sweep status` shows them")
    .option('--queue <url>', 'the Redis server of the queue, e.g. redis://localhost:6379')
    .option('--out <dir>', "the sweep directory, on storage every worker reaches (a shared file system path); laid out as compare's: <out>/runs/<algo>-s<seed>, with --envs <out>/<env>/runs/…")
    .option('--env <name>', `environment: ${trainEnvNames.join(', ')}`)
    .option('--envs <list>', 'several environments (a directory per env under --out)')
    .option('--algos <list>', `comma-separated algorithms (${algoNames.join(', ')}) (default: ${DEFAULT_COMPARE_ALGOS}; with --envs: ${FIG2_ALGOS})`)
    .option('--seeds <n>', 'seeds per algorithm: --seed, --seed + 1, ...', '3')
    .option('--config <file>', 'JSON file with TrainConfig fields shared by all runs')
    .option('--attempts <n>', 'attempts per run before it is marked failed (a worker killed mid-run does not spend one)', '2')
    .option('--retry-failed', "put the sweep's failed runs back in the queue, their attempts reset (after fixing what failed them); each resumes from its checkpoint");
  addSettingOptions(sweep).enablePositionalOptions().action(() => setTask(() => sweepModule().then((m) => m.sweepCommand(sweep.opts() as Opts, io))));
  const sweepStatus = sweep.command('status')
    .description("the sweep's runs (waiting, active with iteration and worker, completed, failed with the error); with --report, compare's report over the finished runs")
    .option('--queue <url>', 'the Redis server of the queue, e.g. redis://localhost:6379')
    .option('--out <dir>', 'only the runs of this sweep directory (the report is written there)')
    .option('--report', "write compare's report.md and learning curves over the finished runs (needs --out)")
    .option('--last <n>', 'with --report: final returns average the last n iterations (default: a tenth of them)')
    .option('--json', 'print the rows as JSON instead of a table');
  sweepStatus.action(() => setTask(() => sweepModule().then((m) => m.sweepStatusCommand(sweepStatus.opts() as Opts, io, argv))));

  const worker = program.command('worker')
    .description('train sweep jobs from a Redis queue, each in its own process, into their run directories (resuming from a checkpoint); SIGTERM or Ctrl-C puts the current runs back in the queue and exits')
    .option('--queue <url>', 'the Redis server of the queue, e.g. redis://localhost:6379')
    .option('--concurrency <n>', 'runs trained at the same time (one core each)', '1')
    .option('--stalled-seconds <n>', "seconds after which a job whose worker went silent (killed, cut off) goes to another worker", '30')
    .option('--until-empty', 'exit once the queue holds no waiting, delayed or active job')
    .option('-q, --quiet', 'no line per iteration');
  worker.action(() => setTask(() => workerModule().then((m) => m.workerCommand(worker.opts() as Opts, io))));

  const explore = program.command('explore')
    .description("the paper's Fig. 4: train LVC-TRPO, MAML-TRPO and E-MAML-TRPO briefly on point-momentum, plot pre-update exploration and post-update trajectories over the goal regions, and count the goal regions the pre-update trajectories reach")
    .option('--algos <list>', `comma-separated arms: ${Object.keys(EXPLORE_ARMS).join(', ')} (MAML-TRPO with the likelihood-ratio inner objective) or algorithms (${algoNames.join(', ')})`, EXPLORE_DEFAULT_ARMS)
    .option('--env <name>', `a point env: ${EXPLORE_ENVS.join(', ')}`, EXPLORE_DEFAULT_ENV)
    .option('--seeds <n>', 'seeds per arm: --seed, --seed + 1, … (the figure shows the first; the measures are mean ± std over them)', '1')
    .option('--eval-seed <n>', 'seed of the evaluation tasks and rollouts', '7')
    .option('--eval-tasks <n>', 'fresh tasks the arms adapt to (the exploration measure averages over them)', '20')
    .option('--paths <n>', 'trajectories drawn per phase and panel', '8')
    .option('--config <file>', 'JSON file with TrainConfig fields shared by all runs')
    .option('--out <dir>', 'output directory', 'reports/explore')
    .option('--jobs <n>', 'runs trained at the same time, each in its own process', '1')
    .option('-q, --quiet', 'no progress output');
  addSettingOptions(explore, { defaults: EXPLORE_DEFAULTS }).action(() => setTask(() => exploreCommand(explore.opts() as Opts, io, argv)));

  const variance = program.command('variance')
    .description("the paper's Fig. 3. With --env: DiCE-VPG and LVC-VPG trained on the env, the meta-gradient's relative std measured during training and their returns (as the paper ran it); without: the tabular-MDP companion, relative std of DiCE vs LVC meta-gradients against the batch size. Writes a figure and its JSON")
    .option('--env <name>', `train on this env (${trainEnvNames.join(', ')}); the training settings below apply (defaults: the reference's Fig. 3 setting)`)
    .option('--out <dir>', 'output directory (default: runs/gradient-variance; with --env: reports/variance-<env>)')
    .option('--seed <n>', 'seed (default: 1)')
    .option('--repeats <n>', 'tabular: meta-gradient estimates per point', '200')
    .option('--alpha <x>', 'tabular: inner step size', '1')
    .option('--horizon <n>', 'the MDP horizon, or with --env the trajectory horizon (default: 10; with --env: 100)')
    .option('--states <n>', 'MDP states', '3')
    .option('--actions <n>', 'MDP actions', '2')
    .option('--batch-sizes <list>', 'pre-update trajectories per estimate', '10,20,40,80')
    .option('--n-post <n>', 'post-update trajectories per estimate', '400')
    .option('--per-sample', "also split one estimate per point into per-trajectory meta-gradients (vmap) and predict the relative std from that one batch; writes per-sample.json");
  variance.option('--jobs <n>', 'with --env: runs trained at the same time, each in its own process', '1').option('-q, --quiet', 'no progress output');
  addSettingOptions(variance, { only: VARIANCE_TRAINING_FLAGS, defaults: VARIANCE_TRAINING_DEFAULTS });
  variance.action(() => setTask(() => {
    const o = variance.opts() as Opts;
    return o['env'] !== undefined ? varianceTrainingCommand(o, io, argv) : varianceCommand(o, io);
  }));

  const demo = program.command('demo')
    .description('the `npm start` demo: ProMP on point-corner for a few minutes, then report.md, learning curves and trajectories')
    .option('--out <dir>', 'output directory (default: runs/demo-<time>)');
  addSettingOptions(demo, { only: ['iterations', 'seed', 'workers'], defaults: DEMO_CONFIG });
  demo.action(() => setTask(() => demoCommand(demo.opts() as Opts, io)));

  return program;
}

/**
 * Runs the CLI on `argv` (the arguments after the program name) and resolves to the exit code.
 * Results go to io.stdout; progress, messages and errors to io.stderr.
 */
export async function runCli(argv: readonly string[], io: CliIO = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let task: (() => Promise<void>) | null = null;
  const program = buildProgram(io, argv, (t) => {
    task = t;
  });
  try {
    if (!argv.length) {
      io.stderr.write(program.helpInformation());
      return 2;
    }
    await program.parseAsync([...argv], { from: 'user' });
    if (!task) {
      println(io.stderr, `error: unknown command '${argv[0]}'; run metagrad --help`);
      return 2;
    }
    await installGpuBackend();
    await (task as () => Promise<void>)();
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2; // commander has printed the message
    if (e instanceof InterruptedError) return 130; // the SIGINT handler reports what was kept
    if (e instanceof UsageError || e instanceof ConfigError || e instanceof RunLockedError || e instanceof RunLogError) {
      println(io.stderr, `error: ${e.message}`);
      return 2;
    }
    const err = e as Error;
    println(io.stderr, `error: ${err?.message ?? String(e)}`);
    if (process.env.METAGRAD_DEBUG && err?.stack) println(io.stderr, err.stack);
    return 1;
  }
}

/** The optional packages the sweep commands need (the optional peers of metagrad). */
const SWEEP_PEERS = 'bullmq@^6.7.0 ioredis@^5.11.1';

/** Imports a sweep command's module, which loads BullMQ and ioredis: a UsageError naming them when they are not installed. */
async function loadSweepPart<M>(load: () => Promise<M>): Promise<M> {
  try {
    return await load();
  } catch (e) {
    const err = e as { code?: string; message?: string };
    if (err?.code === 'ERR_MODULE_NOT_FOUND' && /'(bullmq|ioredis)'/.test(err.message ?? ''))
      throw new UsageError(`sweeps need the optional packages bullmq and ioredis, which are not installed: npm install ${SWEEP_PEERS}`);
    throw e;
  }
}

/** `sweep` and `sweep status`, loaded on first use. */
const sweepModule = (): Promise<typeof SweepModule> => loadSweepPart(() => import('./commands/sweep.js'));
/** `worker`, loaded on first use. */
const workerModule = (): Promise<typeof WorkerModule> => loadSweepPart(() => import('./commands/worker.js'));
