/**
 * The derivative fuzzer, run until a time limit: random graphs of the engine's ops (bench/src/fuzz-graphs.ts),
 * each checked in float64 for its gradient, a Hessian-vector product and a third-order directional derivative
 * against central finite differences. Graph i has seed S + i, so any failure is reproduced by its seed alone.
 *
 *   npx tsc -b bench && node bench/dist/fuzz.js --seconds 120 [--seed S] [--max-ops 10]
 *   node bench/dist/fuzz.js --seed 12345 --graphs 1 --verbose      # reproduce (and print) one graph
 *
 * Prints the count checked, each failure (seed, graph as code, the three checks), graphs per second and how
 * often each op was drawn. Exit code 1 when any graph failed.
 */
import { DEFAULT_TOLERANCE, FUZZ_OPS, checkGraph, describeResult, makeGraph, opCounts } from './fuzz-graphs.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}
const flag = (name: string): boolean => process.argv.includes(`--${name}`);

const SECONDS = Number(arg('seconds', '10'));
const SEED = Number(arg('seed', String(Date.now() % 1_000_000_000)));
const GRAPHS = Number(arg('graphs', 'Infinity'));
const MAX_OPS = Number(arg('max-ops', '10'));
const VERBOSE = flag('verbose');
const MAX_SHOWN = 20;
for (const [k, v] of [['seconds', SECONDS], ['seed', SEED], ['graphs', GRAPHS], ['max-ops', MAX_OPS]] as const)
  if (Number.isNaN(v) || v < 0) {
    console.error(`fuzz: --${k} must be a non-negative number, got ${arg(k, '')}`);
    process.exit(2);
  }

console.log(
  `fuzz: seeds from ${SEED}, up to ${MAX_OPS} ops per graph, for ${SECONDS} s${Number.isFinite(GRAPHS) ? ` or ${GRAPHS} graphs` : ''}; ` +
    `tolerance ${DEFAULT_TOLERANCE.rtol} relative + ${DEFAULT_TOLERANCE.atol} absolute`,
);
const t0 = performance.now();
const counts = new Map<string, number>();
const failed: number[] = [];
let checked = 0;
const worst = [0, 0, 0];
while (checked < GRAPHS && performance.now() - t0 < SECONDS * 1000) {
  const seed = SEED + checked;
  const g = makeGraph(seed, { maxOps: MAX_OPS });
  const r = checkGraph(g);
  opCounts([g], counts);
  checked++;
  // how much of its tolerance each passing check used: |AD − FD| / (rtol·scale + atol)
  r.checks.forEach((c) => {
    if (c.ok) worst[c.order - 1] = Math.max(worst[c.order - 1]!, c.absErr / (DEFAULT_TOLERANCE.rtol * c.scale + DEFAULT_TOLERANCE.atol));
  });
  if (!r.ok) {
    failed.push(seed);
    if (failed.length <= MAX_SHOWN) console.log(`\nFAILURE ${failed.length}: reproduce with --seed ${seed} --graphs 1\n${describeResult(g, r)}`);
  } else if (VERBOSE) console.log(`\n${describeResult(g, r)}`);
}
const secs = (performance.now() - t0) / 1000;
console.log(`\nchecked ${checked} graphs in ${secs.toFixed(1)} s (${(checked / secs).toFixed(1)} graphs/s), seeds ${SEED}–${SEED + checked - 1}`);
console.log(`failures: ${failed.length}${failed.length ? ` (seeds ${failed.slice(0, 50).join(', ')}${failed.length > 50 ? ', …' : ''})` : ''}`);
console.log(
  `most of its tolerance a passing check used (|AD − FD| / (rtol·scale + atol)): order 1 ${worst[0]!.toExponential(1)}, ` +
    `order 2 ${worst[1]!.toExponential(1)}, order 3 ${worst[2]!.toExponential(1)}`,
);
console.log(`ops drawn: ${FUZZ_OPS.map((op) => `${op} ${counts.get(op) ?? 0}`).join(', ')}`);
process.exit(failed.length ? 1 : 0);
