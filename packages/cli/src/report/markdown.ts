/**
 * report.md for `metagrad compare` and `metagrad demo`: the setup, a table of final pre/post-update
 * returns (mean ± std over seeds) and the figures, with paths relative to the report.
 */
import { relative, dirname } from 'node:path';
import type { BudgetReturns, FinalReturns } from './curves.js';

/**
 * What goes into a report.
 *
 * @inline
 */
export interface ReportInput {
  /** The report's title (its heading). */
  title: string;
  /** One paragraph under the title. */
  intro?: string;
  /** The command that made the report. */
  command: string;
  /** Setup rows: name → value. */
  setup: Record<string, string | number>;
  /** One row of the final-returns table per (env, algo). */
  finals: FinalReturns[];
  /** Each run's last `lastK` iterations are averaged for the table. */
  lastK: number;
  /** Post-update returns part-way through training (the same averaging), one column per budget. */
  budgets?: BudgetReturns[];
  /** Figures (absolute or cwd-relative paths), shown in order. */
  figures: {
    /** The figure's caption (also its alt text). */
    caption: string;
    /** Path of the PNG shown. */
    png: string;
    /** Path of an SVG version, linked under the figure. */
    svg?: string;
  }[];
  /** Optional evaluation table (fresh tasks after training): algo → returns per inner step. */
  evaluation?: {
    /** The algorithm. */
    algo: string;
    /** Number of fresh tasks. */
    tasks: number;
    /** The evaluation seed. */
    seed: number;
    /** Average return at inner step 0 (pre-update) … K (post-update). */
    returns: number[];
  }[];
  /** The runs behind the report, listed with their directories. */
  runs: {
    /** The run's algorithm. */
    algo: string;
    /** The run's seed. */
    seed: number;
    /** The run directory. */
    dir: string;
  }[];
  /** Wall-clock time of the command (seconds). */
  wallSeconds: number;
  /** How many of the runs were finished before this command and kept (not trained again). */
  keptRuns?: number;
  /** Extra paragraphs at the end. */
  notes?: string[];
}

const pm = (m: { mean: number; std: number } | null, seeds: number): string =>
  m === null ? '—' : seeds > 1 ? `${m.mean.toFixed(2)} ± ${m.std.toFixed(2)}` : m.mean.toFixed(2);

const minutes = (s: number): string => (s < 60 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`);

/** The "along the way" table: post-update return per algorithm at each budget, the best of each column in bold. */
function budgetTable(budgets: readonly BudgetReturns[], lastK: number): string[] {
  const groups = budgets[0]!.finals.map((f) => `${f.env}\u0000${f.algo}`);
  const multiEnv = new Set(budgets[0]!.finals.map((f) => f.env)).size > 1;
  const at = (b: BudgetReturns, g: string): FinalReturns | undefined => b.finals.find((f) => `${f.env}\u0000${f.algo}` === g);
  const best = budgets.map((b) => Math.max(...b.finals.map((f) => f.post?.mean ?? -Infinity)));
  const steps = (b: BudgetReturns): string => {
    const s = new Set(b.finals.map((f) => Math.round(f.envSteps)));
    return s.size === 1 ? ` (${[...s][0]!.toLocaleString('en-US')} steps)` : '';
  };
  const L = [
    '## Along the way', '',
    `Post-update return at fractions of the budget (each run cut there; its last ${lastK === 1 ? 'iteration' : `${lastK} iterations`} before the cut averaged, then mean ± std over seeds): ` +
    'which algorithm gets there with fewer samples. The best mean of each column is in bold.', '',
    `| algorithm |${budgets.map((b) => ` ${Math.round(b.fraction * 100)} %${steps(b)} |`).join('')}`,
    `|---|${budgets.map(() => '---|').join('')}`,
  ];
  for (const g of groups) {
    const f0 = at(budgets[0]!, g)!;
    const cells = budgets.map((b, i) => {
      const f = at(b, g);
      if (!f?.post) return ' — |';
      const s = pm(f.post, f.seeds);
      return ` ${f.post.mean === best[i] && budgets[i]!.finals.length > 1 ? `**${s}**` : s} |`;
    });
    L.push(`| ${multiEnv ? `${f0.algo} (${f0.env})` : f0.algo} |${cells.join('')}`);
  }
  return L;
}

/** Renders the report; `reportPath` is where it will be written (links are made relative to it). */
export function reportMarkdown(r: ReportInput, reportPath: string): string {
  const rel = (p: string): string => relative(dirname(reportPath), p).split('\\').join('/') || '.';
  const L: string[] = [`# ${r.title}`, ''];
  if (r.intro) L.push(r.intro, '');
  L.push('```', r.command, '```', '', '## Setup', '', '| setting | value |', '|---|---|');
  for (const [k, v] of Object.entries(r.setup)) L.push(`| ${k} | ${v} |`);
  L.push('', '## Final returns', '');
  const K = Math.max(0, ...r.finals.map((f) => f.perStep.length - 1));
  L.push(
    `Average return per trajectory at the end of training, before adaptation (pre-update, inner step 0) and after ` +
    `${K === 1 ? 'the inner step' : `${K} inner steps`} (post-update); each run's last ${r.lastK === 1 ? 'iteration' : `${r.lastK} iterations`} averaged` +
    `${r.finals.some((f) => f.seeds > 1) ? ', then mean ± std over seeds' : ''}. Returns come from the tasks sampled for training at those iterations. ` +
    `Policy σ: the mean standard deviation of the (pre-update) policy after each run's last update (its exploration left). ` +
    `Time: a run's training time (the sum of its logged iterations), mean over seeds.`,
    '',
  );
  const stepCols = K > 1 ? Array.from({ length: K - 1 }, (_, k) => `step ${k + 1}`) : [];
  L.push(`| algorithm | env | seeds | iterations | env steps | pre-update return |${stepCols.map((c) => ` ${c} |`).join('')} post-update return | post − pre | policy σ | time |`);
  L.push(`|---|---|---|---|---|---|${stepCols.map(() => '---|').join('')}---|---|---|---|`);
  for (const f of r.finals) {
    const mid = stepCols.map((_, k) => ` ${f.perStep[k + 1]?.toFixed(2) ?? '—'} |`).join('');
    const gain = f.post ? (f.post.mean - f.pre.mean).toFixed(2) : '—';
    L.push(`| ${f.algo} | ${f.env} | ${f.seeds} | ${f.iterations} | ${Math.round(f.envSteps).toLocaleString('en-US')} | ${pm(f.pre, f.seeds)} |${mid} ${pm(f.post, f.seeds)} | ${gain} | ${pm(f.policyStd, f.seeds)} | ${f.seconds ? minutes(f.seconds.mean) : '—'} |`);
  }
  if (r.budgets?.length) L.push('', ...budgetTable(r.budgets, r.lastK));
  if (r.evaluation?.length) {
    L.push('', '## Evaluation on fresh tasks', '');
    const Ke = Math.max(...r.evaluation.map((e) => e.returns.length)) - 1;
    L.push(`| algorithm | tasks | seed |${Array.from({ length: Ke + 1 }, (_, k) => (k === 0 ? ' pre-update |' : k === Ke ? ' post-update |' : ` step ${k} |`)).join('')}`);
    L.push(`|---|---|---|${Array.from({ length: Ke + 1 }, () => '---|').join('')}`);
    for (const e of r.evaluation) L.push(`| ${e.algo} | ${e.tasks} | ${e.seed} |${e.returns.map((x) => ` ${x.toFixed(2)} |`).join('')}`);
  }
  L.push('', '## Figures', '');
  for (const f of r.figures) {
    L.push(`![${f.caption}](${rel(f.png)})`, '', `*${f.caption}*${f.svg ? ` ([SVG](${rel(f.svg)}))` : ''}`, '');
  }
  L.push('## Runs', '', '| algorithm | seed | run directory |', '|---|---|---|');
  for (const x of r.runs) L.push(`| ${x.algo} | ${x.seed} | \`${rel(x.dir)}\` |`);
  const parents = [...new Set(r.runs.map((x) => dirname(x.dir)))];
  const replot = parents.length === 1 && r.runs.length > 1 ? parents[0]! : r.runs.map((x) => x.dir).join(' ');
  const kept = r.keptRuns ? ` (${r.keptRuns} of the ${r.runs.length} runs were already finished and kept; the time column gives their training times)` : '';
  L.push('', `Wall time: ${(r.wallSeconds / 60).toFixed(1)} min${kept}. Re-plot with \`metagrad plot ${replot}\`.`);
  for (const n of r.notes ?? []) L.push('', n);
  L.push('');
  return L.join('\n');
}
