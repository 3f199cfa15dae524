/**
 * Progress over training iterations on stderr: a cli-progress bar when stderr is a terminal (phase, last
 * pre/post-update return, env steps, ETA), one plain line per finished iteration otherwise (logs, CI,
 * tests; with its seconds and the ETA of the rest). One bar can span several runs (`compare`, `explore`): `total` counts all their iterations.
 */
import cliProgress from 'cli-progress';
import { fmt, formatDuration, type CliIO } from './io.js';

/** The fields of a logged iteration the progress display reads. */
export interface IterationLike {
  /** 0-based iteration index. */
  iteration: number;
  /** Cumulative environment steps. */
  envSteps: number;
  /** Average return at inner step 0 … K. */
  returns: number[];
  /** Episodes per task whose simulation diverged. */
  diverged?: number[];
}

/** The trainer's hooks, structurally (see trainer/metaTrainer.ts TrainHooks). */
export interface ProgressHooks {
  onIteration(rec: IterationLike): void;
  onPhase(phase: string, done: number, total: number): void;
}

/** "  diverged 3" when episodes diverged in the iteration (the simulator went unstable), else "". */
function divergedText(rec: IterationLike): string {
  const n = (rec.diverged ?? []).reduce((a, b) => a + b, 0);
  return n > 0 ? `  diverged ${n}` : '';
}

/** A progress display over `total` iterations. */
export class Progress {
  private readonly bar: cliProgress.SingleBar | null;
  private done = 0;
  /** Iterations finished in this process (done less the skipped ones): the ETA's rate. */
  private ran = 0;
  private label: string;
  private readonly t0 = performance.now();

  constructor(private readonly io: CliIO, private readonly total: number, label: string, private readonly quiet = false) {
    this.label = label;
    this.bar = io.stderr.isTTY && !quiet
      ? new cliProgress.SingleBar({
        stream: io.stderr as NodeJS.WritableStream,
        format: '{label} |{bar}| {value}/{total} it | {phase} | pre {pre} post {post} | {steps} steps | {duration_formatted} ETA {eta_formatted}',
        barsize: 24, hideCursor: true, clearOnComplete: false, fps: 5, etaBuffer: 20,
      }, cliProgress.Presets.shades_classic)
      : null;
    this.bar?.start(total, 0, { label, phase: 'starting', pre: '—', post: '—', steps: 0 });
  }

  /** Names the run that the next iterations belong to (e.g. "promp seed 2"). */
  setLabel(label: string): void {
    this.label = label;
    this.bar?.update({ label });
  }

  /** Counts iterations that were already done (a resumed run) without printing them. */
  skip(n: number): void {
    this.done += n;
    this.bar?.update(this.done);
  }

  /**
   * Hooks to pass to train()/evaluate(), one set per run: the seconds per iteration they print are the
   * run's own, also when several runs report to one display at once (`compare --jobs`).
   */
  hooks(): ProgressHooks {
    let lastIterAt = performance.now();
    return {
      onPhase: (phase) => {
        this.bar?.update({ phase });
      },
      onIteration: (rec) => {
        this.done += 1;
        this.ran += 1;
        const pre = rec.returns[0];
        const post = rec.returns.length > 1 ? rec.returns[rec.returns.length - 1] : undefined;
        const now = performance.now();
        const dt = (now - lastIterAt) / 1000;
        lastIterAt = now;
        if (this.bar) this.bar.update(this.done, { pre: fmt(pre), post: fmt(post), steps: `${rec.envSteps.toLocaleString('en-US')}${divergedText(rec)}` });
        else if (!this.quiet)
          this.io.stderr.write(`${this.label}  it ${rec.iteration + 1} (${this.done}/${this.total})  pre ${fmt(pre)}  post ${fmt(post)}  steps ${rec.envSteps.toLocaleString('en-US')}${divergedText(rec)}  ${dt.toFixed(1)}s/it${this.eta(now)}\n`);
      },
    };
  }

  /** "  ETA 1h 20m": the time the remaining iterations take at this process's pace so far ("" when none remain). */
  private eta(now: number): string {
    const left = this.total - this.done;
    return left > 0 && this.ran > 0 ? `  ETA ${formatDuration(((now - this.t0) / 1000 / this.ran) * left)}` : '';
  }

  /** Prints a line on stderr above the bar (a notice about a run: a restart, a repaired log). */
  log(line: string): void {
    this.io.stderr.write(`${this.bar ? '\r\x1b[K' : ''}${line}\n`);
  }

  /** Ends the bar (leaving it on screen) and returns the elapsed seconds. */
  stop(): number {
    this.bar?.stop();
    return (performance.now() - this.t0) / 1000;
  }

  /** Elapsed time, formatted. */
  elapsed(): string {
    return formatDuration((performance.now() - this.t0) / 1000);
  }
}
