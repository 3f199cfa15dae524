/**
 * The metagrad CLI, in-process through runCli: bad input ends with one clear line and exit code 2 before
 * any work (nothing written); tiny runs of train / resume / eval / plot / compare / explore write
 * well-formed files; a resumed run logs the same numbers as an unbroken one.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from 'metagrad';
import type { CliIO } from 'metagrad';

/** Runs the CLI with captured (non-TTY) output. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const io: CliIO = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } };
  const code = await runCli(argv, io);
  return { code, out, err };
}

const root = mkdtempSync(join(tmpdir(), 'metagrad-cli-'));
/** The smallest sizes that exercise every part of an iteration. */
const TINY = ['--env', 'point-corner', '--meta-batch-size', '2', '--rollouts-per-task', '2', '--horizon', '5', '--hidden', '4', '--inner-steps', '1', '--promp-steps', '1'];
const run1 = join(root, 'runs', 'promp-a');

beforeAll(async () => {
  const r = await cli('train', '--algo', 'promp', ...TINY, '--iterations', '2', '--seed', '3', '--out', run1);
  expect(r.err).not.toMatch(/error/);
  expect(r.code).toBe(0);
});

describe('bad input: one line on stderr, exit code 2, nothing run', () => {
  const bad = (name: string, argv: string[], message: RegExp): void => {
    it(name, async () => {
      const out = join(root, 'bad', name.replace(/\W+/g, '-'));
      const r = await cli(...argv.map((a) => a.replace('$OUT', out)));
      expect(r.code).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
      expect(existsSync(out)).toBe(false);
    });
  };
  bad('unknown algo', ['train', '--algo', 'ppo', '--env', 'point-corner', '--out', '$OUT'], /^error: unknown algo 'ppo'; valid: promp, maml-trpo/);
  bad('unknown env', ['train', '--algo', 'promp', '--env', 'moon', '--out', '$OUT'], /^error: unknown env 'moon'; valid: point-corner/);
  bad('tabular env', ['train', '--algo', 'promp', '--env', 'tabular', '--out', '$OUT'], /unknown env 'tabular'/);
  bad('negative size', ['train', '--algo', 'promp', '--env', 'point-corner', '--meta-batch-size', '-4', '--out', '$OUT'], /^error: --meta-batch-size must be a positive integer, got '-4'\n$/);
  bad('zero iterations', ['train', '--algo', 'promp', '--env', 'point-corner', '--iterations', '0', '--out', '$OUT'], /--iterations must be an integer in \[1, 1000000\], got '0'/);
  bad('non-numeric lr', ['train', '--algo', 'promp', '--env', 'point-corner', '--inner-lr', 'fast', '--out', '$OUT'], /--inner-lr must be a positive number, got 'fast'/);
  bad('bad hidden', ['train', '--algo', 'promp', '--env', 'point-corner', '--hidden', '64,x', '--out', '$OUT'], /--hidden must be a comma-separated list/);
  bad('missing env', ['train', '--algo', 'promp', '--out', '$OUT'], /--env is required/);
  bad('an absurd meta-batch', ['train', '--algo', 'promp', '--env', 'half-cheetah-fwd-back', '--meta-batch-size', '100000000', '--out', '$OUT'], /^error: one sampling round's observations \(metaBatchSize 100000000 × rolloutsPerTask 20 × horizon 100 × 18\) would be 3\.60e\+12 numbers/);
  bad('absurd hidden layers', ['train', '--algo', 'promp', '--env', 'half-cheetah-fwd-back', '--hidden', '100000,100000', '--out', '$OUT'], /^error: the per-task copies of the widest weight matrix \(hidden 100000,100000/);
  bad('an absurd horizon', ['train', '--algo', 'promp', '--env', 'half-cheetah-fwd-back', '--horizon', '1000000000', '--out', '$OUT'], /horizon 1000000000 × 18\) would be/);
  bad('missing config file', ['train', '--config', '/nonexistent/run.json', '--out', '$OUT'], /config file '\/nonexistent\/run.json' does not exist/);
  bad('unknown flag', ['train', '--algo', 'promp', '--env', 'point-corner', '--lr', '3', '--out', '$OUT'], /unknown option '--lr'/);
  bad('unknown command', ['fly'], /unknown command 'fly'/);
  bad('eval of a missing run', ['eval', '/nonexistent/run'], /run directory '\/nonexistent\/run' does not exist/);
  bad('resume of a missing run', ['train', '--resume', '/nonexistent/run'], /run directory '\/nonexistent\/run' does not exist/);
  bad('compare with an unknown algo', ['compare', '--env', 'point-corner', '--algos', 'promp,ppo', '--out', '$OUT'], /unknown algo 'ppo'/);
  bad('compare with zero seeds', ['compare', '--env', 'point-corner', '--seeds', '0', '--out', '$OUT'], /--seeds must be a positive integer/);
  bad('plot of a missing run', ['plot', '/nonexistent/run', '--out', '$OUT'], /'\/nonexistent\/run' does not exist/);
  bad('plot band', ['plot', '/tmp', '--band', 'iqr', '--out', '$OUT'], /unknown band 'iqr'/);
  bad('variance repeats', ['variance', '--repeats', '1', '--out', '$OUT'], /--repeats must be an integer ≥ 2/);
  bad('variance training flag without --env', ['variance', '--iterations', '3', '--out', '$OUT'], /--iterations is a training setting: give --env to train/);
  bad('variance --env with a TRPO-free measurement off', ['variance', '--env', 'point-goal', '--variance-every', '0', '--out', '$OUT'], /--variance-every must be at least 1 here/);

  it('help and version go to stdout with exit code 0; no arguments prints help with exit code 2', async () => {
    const h = await cli('train', '--help');
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/Usage: metagrad train \[options\]/);
    expect(h.out).toContain('--meta-batch-size <n>');
    expect(h.out.replace(/\s+/g, ' ')).toContain('--inner-lr <x> inner (adaptation) step size α, θ′ = θ + α∇J^inner (Eq. 12) (default: 0.1; 0.05 on hopper-rand-params, walker2d-rand-params)');
    expect((await cli('--version')).out.trim()).toBe('0.2.0');
    const none = await cli();
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/Commands:[\s\S]*compare[\s\S]*explore[\s\S]*variance[\s\S]*demo/);
  });

  it('config file errors: unknown key, bad value, not JSON, not an object', async () => {
    const dir = join(root, 'configs');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'key.json'), JSON.stringify({ algo: 'promp', env: 'point-corner', learningRate: 1 }));
    writeFileSync(join(dir, 'val.json'), JSON.stringify({ algo: 'promp', env: 'point-corner', clipEps: 2 }));
    writeFileSync(join(dir, 'bad.json'), '{ algo: promp');
    const out = join(root, 'bad', 'cfg');
    const a = await cli('train', '--config', join(dir, 'key.json'), '--out', out);
    expect([a.code, a.err]).toEqual([2, expect.stringMatching(/^error: unknown config key 'learningRate'/)]);
    const b = await cli('train', '--config', join(dir, 'val.json'), '--out', out);
    expect([b.code, b.err]).toEqual([2, expect.stringMatching(/^error: clipEps must be a number in \(0, 1\), got 2\n$/)]);
    const c = await cli('train', '--config', join(dir, 'bad.json'), '--out', out);
    expect([c.code, c.err]).toEqual([2, expect.stringMatching(/not valid JSON/)]);
    writeFileSync(join(dir, 'arr.json'), '[1, 2]');
    const d = await cli('train', '--config', join(dir, 'arr.json'), '--out', out);
    expect([d.code, d.err]).toEqual([2, `error: config file '${join(dir, 'arr.json')}' must hold a JSON object, got an array\n`]);
    expect(existsSync(out)).toBe(false);
  });

  it('resume: a finished run, changed flags, a directory that already holds a run', async () => {
    const a = await cli('train', '--resume', run1);
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/has already finished \(2 of 2 iterations\); pass --iterations N with N > 2 to extend it/);
    const b = await cli('train', '--resume', run1, '--algo', 'maml-trpo', '--iterations', '5');
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/only --iterations, --no-jit, --workers, --threads may be given \(got --algo\)/);
    const c = await cli('train', '--algo', 'promp', ...TINY, '--out', run1);
    expect(c.code).toBe(2);
    expect(c.err).toMatch(/already holds a run; continue it with --resume/);
    const d = await cli('eval', join(root, 'runs'));
    expect(d.err).toMatch(/is not a run directory \(no config.json\)/);
  });
});

describe('CLI conventions', () => {
  it('--help of every subcommand shows the default of every option that takes a value', async () => {
    const top = await cli('--help');
    const commands = [...top.out.matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]!).filter((c) => c !== 'help');
    expect(commands).toEqual(['train', 'eval', 'plot', 'compare', 'sweep', 'worker', 'explore', 'variance', 'demo']);
    // options without a default, on purpose: the required choices and the inputs a command reads
    const noDefault = new Set(['--algo', '--env', '--envs', '--config', '--resume', '--inner-objective', '--queue']);
    for (const c of commands) {
      const h = await cli(c, '--help');
      expect(h.code).toBe(0);
      const options = h.out.slice(h.out.indexOf('Options:')).split(/\n(?= {2}-)/).slice(1);
      expect(options.length).toBeGreaterThan(1);
      for (const o of options) {
        const flag = /--[a-z-]+/.exec(o)![0];
        if (!/ <[a-z]+>/.test(o.split('  ').find((x) => x.includes(flag)) ?? '') && !/\(default: (true|false)/.test(o)) continue; // a bare switch
        if (noDefault.has(flag) || (c === 'sweep' && flag === '--out')) continue; // sweep's --out is required
        expect(o.replace(/\s+/g, ' '), `${c} ${flag}`).toMatch(/\(default: [^)]/);
      }
    }
    expect((await cli('train', '--help')).out).toMatch(/--algo <name>/);
  });

  it('every training setting has its flag: values reach config.json, bad ones fail with the setting\'s message', async () => {
    const dir = join(root, 'flags');
    const r = await cli('train', '--algo', 'promp', ...TINY, '--iterations', '1', '--clip-eps', '0.2', '--no-normalize-adv', '--discount', '0.9',
      '--inner-objective', 'dice', '--first-order', '--cg-iters', '3', '-q', '--out', dir);
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))).toMatchObject({
      clipEps: 0.2, normalizeAdv: false, discount: 0.9, innerObjective: 'dice', firstOrder: true, cgIters: 3, learnStd: true,
    });
    const bad = await cli('train', '--algo', 'promp', ...TINY, '--clip-eps', '1.5', '--out', join(root, 'flags-bad'));
    expect([bad.code, bad.err]).toEqual([2, "error: --clip-eps must be a number in (0, 1), got '1.5'\n"]);
    const obj = await cli('train', '--algo', 'promp', ...TINY, '--inner-objective', 'reinforce', '--out', join(root, 'flags-bad'));
    expect(obj.err).toBe("error: unknown --inner-objective 'reinforce'; valid values: likelihood-ratio, log-likelihood, dice\n");
    const resume = await cli('train', '--resume', dir, '--clip-eps', '0.1', '--no-normalize-adv');
    expect(resume.err).toBe('error: --resume continues a run with its saved config; only --iterations, --no-jit, --workers, --threads may be given (got --clip-eps, --no-normalize-adv)\n');
  });
});

describe('train, resume, eval, plot', () => {
  it('train writes config.json, log.jsonl, log.csv and checkpoint.json', () => {
    expect(readdirSync(run1).sort()).toEqual(['checkpoint.json', 'config.json', 'log.csv', 'log.jsonl']);
    const cfg = JSON.parse(readFileSync(join(run1, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ algo: 'promp', env: 'point-corner', seed: 3, iterations: 2, metaBatchSize: 2, rolloutsPerTask: 2, horizon: 5, hidden: [4] });
    const recs = readFileSync(join(run1, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(recs.map((r) => r.iteration)).toEqual([0, 1]);
    for (const r of recs) {
      expect(r.returns).toHaveLength(2);
      expect(r.returns.every(Number.isFinite)).toBe(true);
    }
    expect(recs[1].envSteps).toBe(2 * recs[0].envSteps); // cumulative: 2 tasks × 2 rollouts × 5 steps × 2 rounds per iteration
    expect(recs[0].envSteps).toBe(40);
    const csv = readFileSync(join(run1, 'log.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toMatch(/^iteration,env_steps,return_0,return_1,/);
    expect(csv).toHaveLength(3);
    expect(JSON.parse(readFileSync(join(run1, 'checkpoint.json'), 'utf8'))).toMatchObject({ iteration: 2, algo: 'promp' });
  });

  it('train --fixed-std holds σ at its initial value (learnStd false in config.json, policy_std 1 in the log)', async () => {
    const dir = join(root, 'fixed-std');
    const r = await cli('train', '--algo', 'promp', ...TINY, '--iterations', '2', '--fixed-std', '-q', '--out', dir);
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).learnStd).toBe(false);
    const recs = readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { policyStd: number });
    expect(recs.map((x) => x.policyStd)).toEqual([1, 1]);
    expect(JSON.parse(readFileSync(join(run1, 'config.json'), 'utf8')).learnStd).toBe(true);
  });

  it('prints the run dir and final returns; progress lines go to stderr', async () => {
    const out = join(root, 'runs', 'lvc');
    const r = await cli('train', '--algo', 'lvc-vpg', ...TINY, '--iterations', '1', '--out', out);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`run directory: ${out}`);
    expect(r.out).toMatch(/returns at the last iteration: pre-update -?\d+\.\d+ \| post-update -?\d+\.\d+/);
    expect(r.err).toMatch(/lvc-vpg s1 {2}it 1 \(1\/1\) {2}pre .* post .* steps 40/);
  });

  it('--resume continues a stopped run to the numbers of an unbroken one', async () => {
    const stopped = join(root, 'runs', 'stopped');
    const whole = join(root, 'runs', 'whole');
    expect((await cli('train', '--algo', 'promp', ...TINY, '--iterations', '1', '--seed', '5', '--out', stopped)).code).toBe(0);
    const r = await cli('train', '--resume', stopped, '--iterations', '3');
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/resuming .* at iteration 2/);
    expect(r.out).toMatch(/3\/3 iterations/);
    expect((await cli('train', '--algo', 'promp', ...TINY, '--iterations', '3', '--seed', '5', '--out', whole)).code).toBe(0);
    const returns = (d: string): number[][] => readFileSync(join(d, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).returns);
    expect(returns(stopped)).toHaveLength(3);
    expect(returns(stopped)).toEqual(returns(whole));
  });

  it('--resume may change the settings that change how a run computes, not its numbers (--threads, --no-jit, --workers): the numbers of an unbroken run', async () => {
    const args = ['--algo', 'maml-trpo', ...TINY, '--meta-batch-size', '4', '--seed', '6'];
    const split = join(root, 'exec', 'split'), whole = join(root, 'exec', 'whole');
    expect((await cli('train', ...args, '--iterations', '1', '--out', split)).code).toBe(0);
    expect((await cli('train', '--resume', split, '--iterations', '2', '--threads', '2', '--no-jit')).code).toBe(0);
    expect(JSON.parse(readFileSync(join(split, 'config.json'), 'utf8'))).toMatchObject({ threads: 2, jit: false });
    expect((await cli('train', '--resume', split, '--iterations', '3', '--workers', '2', '--threads', '1')).code).toBe(0);
    expect((await cli('train', ...args, '--iterations', '3', '--out', whole)).code).toBe(0);
    const read = (d: string, f: string): string => readFileSync(join(d, f), 'utf8');
    const records = (d: string): unknown[] => read(d, 'log.jsonl').trim().split('\n').map((l) => ({ ...JSON.parse(l), timings: null }));
    expect(records(split)).toHaveLength(3);
    expect(records(split)).toEqual(records(whole));
    expect(read(split, 'checkpoint.json')).toBe(read(whole, 'checkpoint.json'));
  });

  it('eval prints and writes eval.json', async () => {
    const r = await cli('eval', run1, '--tasks', '3', '--seed', '11');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/pre-update\s+-?\d+\.\d{3}\n\s+post-update\s+-?\d+\.\d{3}/);
    const e = JSON.parse(readFileSync(join(run1, 'eval.json'), 'utf8'));
    expect(e).toMatchObject({ algo: 'promp', env: 'point-corner', tasks: 3, seed: 11, iterations: 2 });
    expect(e.returns).toHaveLength(2);
    expect(e.perTask).toHaveLength(3);
    const again = await cli('eval', run1, '--tasks', '3', '--seed', '11', '--out', join(root, 'eval2.json'));
    expect(again.code).toBe(0);
    expect(JSON.parse(readFileSync(join(root, 'eval2.json'), 'utf8')).returns).toEqual(e.returns);
    const j = await cli('eval', run1, '--tasks', '3', '--seed', '11', '--out', join(root, 'eval3.json'), '--json');
    expect(j.code).toBe(0);
    const printed = JSON.parse(j.out) as Record<string, unknown>; // stdout is exactly one JSON document
    expect(printed).toEqual(JSON.parse(readFileSync(join(root, 'eval3.json'), 'utf8')));
    expect(printed.returns).toEqual(e.returns);
  });

  it('plot writes SVG and PNG for runs and directories of runs', async () => {
    const out = join(root, 'plots');
    const r = await cli('plot', join(root, 'runs'), '--out', out, '--band', 'std');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/4 runs, 2 algorithms \((lvc-vpg, promp|promp, lvc-vpg)\)/);
    expect(readFileSync(join(out, 'learning-curves.svg'), 'utf8')).toContain('<svg');
    expect(readFileSync(join(out, 'learning-curves.png')).subarray(1, 4).toString()).toBe('PNG');
  });
});

describe('compare and explore at toy sizes', () => {
  it('compare trains every (algo, seed), writes report.md and curves, and keeps finished runs', async () => {
    const out = join(root, 'cmp');
    const args = ['compare', '--algos', 'promp,lvc-vpg', '--seeds', '2', '--iterations', '1', ...TINY, '--out', out];
    const r = await cli(...args);
    expect(r.code).toBe(0);
    expect(readdirSync(join(out, 'runs')).sort()).toEqual(['lvc-vpg-s1', 'lvc-vpg-s2', 'promp-s1', 'promp-s2']);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toMatch(/\| promp \| point-corner \| 2 \| 1 \| 40 \| -?\d+\.\d+ ± \d+\.\d+ \| -?\d+\.\d+ ± \d+\.\d+ \|/);
    expect(md).toContain('![Learning curves');
    expect(md).toContain('| policy σ | learned (initial 1.00) |');
    expect(md).toContain('| TRPO KL bound | 0.01 |');
    expect(md).toMatch(/## Along the way[\s\S]*\| promp \| (\*\*)?-?\d+\.\d+ ± \d+\.\d+/);
    expect(existsSync(join(out, 'learning-curves.png'))).toBe(true);
    expect(r.out).toMatch(/lvc-vpg\s+2\s+/);
    const again = await cli(...args);
    expect(again.code).toBe(0);
    expect(again.err).toMatch(/4 already finished, kept/);
    const j = await cli(...args, '--json');
    expect(j.code).toBe(0);
    const res = JSON.parse(j.out) as { env: string; report: string; finals: { algo: string; seeds: number }[]; budgets: unknown[]; runs: { dir: string }[]; lastK: number };
    expect(res.env).toBe('point-corner');
    expect(res.report).toBe(join(out, 'report.md'));
    expect(res.finals.map((f) => [f.algo, f.seeds])).toEqual([['promp', 2], ['lvc-vpg', 2]]);
    expect(res.runs).toHaveLength(4);
    expect(res.budgets).toHaveLength(4); // 25, 50, 75, 100 % of the budget
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/Wall time: \d+\.\d min \(4 of the 4 runs were already finished and kept/);
    const other = await cli('compare', '--algos', 'promp', '--seeds', '1', '--iterations', '1', ...TINY.map((a) => (a === '5' ? '6' : a)), '--out', out);
    expect(other.code).toBe(2);
    expect(other.err).toMatch(/holds a run with a different horizon/);
    // a run saved before a config key existed is kept when the key has its default
    const saved = join(out, 'runs', 'promp-s1', 'config.json');
    const c = JSON.parse(readFileSync(saved, 'utf8')) as Record<string, unknown>;
    delete c.learnStd;
    writeFileSync(saved, JSON.stringify(c));
    expect((await cli(...args)).err).toMatch(/4 already finished, kept/);
  });

  it('compare --jobs 2 trains runs side by side in child processes, with the same numbers as one at a time', async () => {
    const sizes = ['--algos', 'promp,maml-trpo', '--seeds', '2', '--iterations', '2', ...TINY, '--rollouts-per-task', '4', '--horizon', '8'];
    const one = join(root, 'jobs1'), two = join(root, 'jobs2');
    expect((await cli('compare', ...sizes, '--out', one)).code).toBe(0);
    const r = await cli('compare', ...sizes, '--out', two, '--jobs', '2');
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/4 runs of 2 iterations into .*, 2 at a time/);
    expect(r.err.match(/ it \d+ \(\d+\/8\)/g)).toHaveLength(8); // every child's iterations reach the one progress display
    const records = (dir: string): unknown[] =>
      readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => ({ ...JSON.parse(l), timings: undefined }));
    for (const run of ['promp-s1', 'promp-s2', 'maml-trpo-s1', 'maml-trpo-s2']) {
      expect(records(join(two, 'runs', run))).toEqual(records(join(one, 'runs', run)));
      expect(readFileSync(join(two, 'runs', run, 'checkpoint.json'), 'utf8')).toBe(readFileSync(join(one, 'runs', run, 'checkpoint.json'), 'utf8'));
      // two children at once share the cores for their matmuls (unless METAGRAD_THREADS says otherwise)
      const threads = process.env['METAGRAD_THREADS'] ?? String(Math.max(1, Math.floor(availableParallelism() / 2)));
      expect(JSON.parse(readFileSync(join(two, 'runs', run, 'config.json'), 'utf8')).meta.backend.cpuThreads).toBe(Number(threads));
    }
    expect((await cli('compare', ...sizes, '--out', two, '--jobs', '0')).err).toMatch(/--jobs must be a positive integer, got '0'/);
  }, 60_000);

  it('compare --jobs 2: a run that fails in its child process stops the command with its error', async () => {
    const out = join(root, 'jobs-fail');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'runs'), 'not a directory'); // every run directory lies below a file
    const r = await cli('compare', '--algos', 'promp,lvc-vpg', '--seeds', '1', '--iterations', '1', ...TINY, '--out', out, '--jobs', '2');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/(promp|lvc-vpg) s1 in .* failed: .*ENOTDIR.*rerun to resume/);
  }, 60_000);

  it('compare --envs (Fig. 2 over several tasks) writes a report per task and a summary: final returns, and where ProMP is ahead at 25/50/75/100 %', async () => {
    const out = join(root, 'fig2');
    const r = await cli('compare', '--envs', 'point-goal,point-momentum', '--algos', 'promp,lvc-vpg', '--seeds', '1', '--iterations', '2', ...TINY.slice(2), '--out', out, '--jobs', '2', '-q');
    expect(r.code).toBe(0);
    for (const env of ['point-goal', 'point-momentum']) {
      expect(existsSync(join(out, env, 'report.md'))).toBe(true);
      expect(existsSync(join(out, env, 'runs', 'promp-s1', 'checkpoint.json'))).toBe(true);
    }
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.reference).toBe('promp');
    expect(summary.fractions).toEqual([0.25, 0.5, 0.75, 1]);
    expect(summary.tasks.map((t: { env: string }) => t.env)).toEqual(['point-goal', 'point-momentum']);
    for (const t of summary.tasks) {
      expect(t.finals.map((x: { algo: string }) => x.algo)).toEqual(['promp', 'lvc-vpg']);
      const ahead = t.ahead[0];
      expect(ahead.algo).toBe('lvc-vpg');
      // ✓ exactly where ProMP's mean is above at that budget (the last one: the final returns)
      expect(ahead.at).toHaveLength(4);
      const final = (algo: string): number => t.finals.find((x: { algo: string }) => x.algo === algo).mean;
      expect(ahead.at[3]).toBe(final('promp') > final('lvc-vpg'));
    }
    const md = readFileSync(join(out, 'summary.md'), 'utf8');
    expect(md).toMatch(/\| point-momentum \| -?\d/);
    expect(md).toMatch(/Is promp's mean post-update return above each algorithm's at 25 % \/ 50 % \/ 75 % \/ 100 %/);
    expect(r.out).toContain(join(out, 'summary.md'));
    // the figure of every task's curves, one panel per task, linked from the summary
    expect(md).toContain('](learning-curves.png)');
    expect(existsSync(join(out, 'learning-curves.png'))).toBe(true);
    const svg = readFileSync(join(out, 'learning-curves.svg'), 'utf8');
    for (const env of ['point-goal', 'point-momentum']) expect(svg).toContain(`>${env}</text>`);
    // plot finds the runs of a compare --envs directory (<env>/runs/<run>, three levels down)
    const plot = await cli('plot', out, '--out', join(root, 'fig2-plot'));
    expect(plot.code, plot.err).toBe(0);
    expect(plot.out).toMatch(/^4 runs, 2 algorithms \(lvc-vpg, promp\)/);
    const both = await cli('compare', '--env', 'point-goal', '--envs', 'point-goal', '--out', join(root, 'fig2-bad'));
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/give --env for one task or --envs for several, not both/);
  });

  it('explore (Fig. 4) draws pre- and post-update trajectories per arm on point-momentum and counts the goal regions reached', async () => {
    const out = join(root, 'explore');
    const r = await cli('explore', '--algos', 'lvc-trpo,promp', '--seeds', '2', '--iterations', '1', '--meta-batch-size', '2', '--rollouts-per-task', '2', '--horizon', '5', '--hidden', '4', '--promp-steps', '1', '--paths', '2', '--eval-tasks', '3', '--out', out, '--jobs', '2');
    expect(r.code).toBe(0);
    const svg = readFileSync(join(out, 'exploration.svg'), 'utf8');
    expect(svg).toContain('lvc-trpo (return');
    expect(svg).toContain('promp (return');
    expect(svg).toContain('point-momentum');
    const json = JSON.parse(readFileSync(join(out, 'explore.json'), 'utf8'));
    expect(json.env).toBe('point-momentum');
    expect(json.panels).toHaveLength(2);
    // LVC-TRPO is MAML-TRPO with the likelihood-ratio inner objective
    expect(json.evaluation[0].config).toEqual({ algo: 'maml-trpo', innerObjective: 'likelihood-ratio' });
    expect(JSON.parse(readFileSync(join(out, 'runs', 'lvc-trpo-s2', 'config.json'), 'utf8'))).toMatchObject({ algo: 'maml-trpo', env: 'point-momentum', innerObjective: 'likelihood-ratio', seed: 2 });
    for (const e of json.evaluation) {
      expect(e.seeds.map((x: { seed: number }) => x.seed)).toEqual([1, 2]);
      for (const x of e.seeds) {
        expect(x.regionsReached).toBeGreaterThanOrEqual(0);
        expect(x.regionsReached).toBeLessThanOrEqual(4);
        expect(x.ownGoalReached).toBeGreaterThanOrEqual(0);
        expect(x.returns).toHaveLength(4); // three inner steps (Fig. 4)
      }
    }
    expect(r.out).toMatch(/mean ± std over 2 seeds/);
    expect(r.out).toMatch(/lvc-trpo .*regions \S+ ± \S+ of 4; {2}own goal \d+ %/);
    // the learning curves keep LVC-TRPO (a maml-trpo run) apart under its arm's name
    expect(readFileSync(join(out, 'learning-curves.svg'), 'utf8')).toContain('lvc-trpo');
    expect(json.panels[0].paths[0].points[0]).toHaveLength(2); // positions, not the velocities
    const paths = json.panels[0].paths;
    expect(paths.filter((p: { phase: string }) => p.phase === 'pre-update')).toHaveLength(2);
    expect(paths[0].points).toHaveLength(6); // 5 steps + the final position
    expect(r.err).toMatch(/into .*, 2 at a time/); // trained side by side (--jobs 2)
  });

  it("variance --env (Fig. 3 during training) trains DiCE-VPG and LVC-VPG, measures the meta-gradient's relative std every n iterations, and plots it with the returns", async () => {
    const out = join(root, 'variance-training');
    const r = await cli('variance', '--env', 'point-goal', '--iterations', '3', '--meta-batch-size', '2', '--rollouts-per-task', '3', '--horizon', '5', '--hidden', '4', '--variance-every', '2', '--variance-rounds', '3', '--out', out, '--jobs', '2');
    expect(r.code).toBe(0);
    const json = JSON.parse(readFileSync(join(out, 'variance-training.json'), 'utf8'));
    expect(json.series.map((s: { algo: string }) => s.algo)).toEqual(['dice-vpg', 'lvc-vpg']);
    for (const s of json.series) {
      expect(s.measured.map((m: { iteration: number }) => m.iteration)).toEqual([0, 2]);
      for (const m of s.measured) expect(m.relStd).toBeGreaterThan(0);
      expect(s.returns).toHaveLength(3);
    }
    const config = JSON.parse(readFileSync(join(out, 'runs', 'lvc-vpg', 'config.json'), 'utf8'));
    expect(config).toMatchObject({ algo: 'lvc-vpg', env: 'point-goal', varianceEvery: 2, varianceRounds: 3, innerLr: 0.1, metaLr: 0.001, numInnerGradSteps: 1 });
    expect(readFileSync(join(out, 'variance-training.svg'), 'utf8')).toContain('relative std of the meta-gradient');
    expect(r.out).toMatch(/DiCE +\d+\.\d+ +return/);
    expect(r.out).toMatch(/DiCE \/ LVC: \d+\.\d+/);
  });

  it('demo (npm start) trains ProMP with the comparison settings, evaluates fresh tasks, and prints where its report is', async () => {
    const out = join(root, 'demo');
    const r = await cli('demo', '--iterations', '1', '--out', out);
    expect(r.code).toBe(0);
    const config = JSON.parse(readFileSync(join(out, 'run', 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ algo: 'promp', env: 'point-corner', metaLr: 0.005, numPrompSteps: 20, learnStd: false, numInnerGradSteps: 3 });
    expect(r.out).toMatch(/post-update return reached: -?\d+\.\d+ \(pre-update -?\d+\.\d+\)/);
    for (const f of ['report.md', 'learning-curves.png', 'trajectories.png']) expect(existsSync(join(out, f))).toBe(true);
    expect(r.out).toContain(join(out, 'report.md'));
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/## Evaluation on fresh tasks[\s\S]*\| promp \| 40 \| 99 \|/);
    expect((await cli('demo', '--iterations', '1', '--out', out)).err).toMatch(/exists and is not empty/);
  }, 60_000);
});
