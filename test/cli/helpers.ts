/** What the CLI tests share: the CLI run in-process with its output captured, and a run directory's repeatable part. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RUN_FILES, runCli, type CliIO } from 'metagrad';

/** The CLI in-process with captured output. */
export async function runInProcess(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const io: CliIO = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } };
  const code = await runCli(argv, io);
  return { code, out, err };
}

/** The parts of a run directory that must repeat exactly: records without timings, the checkpoint, the config without meta, the CSV's row count. */
export function runSnapshot(dir: string): { records: unknown[]; checkpoint: unknown; config: unknown; csvRows: number } {
  const records = readFileSync(join(dir, RUN_FILES.log), 'utf8').trim().split('\n').map((l) => ({ ...(JSON.parse(l) as object), timings: null }));
  const { meta: _m, ...config } = JSON.parse(readFileSync(join(dir, RUN_FILES.config), 'utf8')) as Record<string, unknown>;
  const csvRows = readFileSync(join(dir, RUN_FILES.csv), 'utf8').trim().split('\n').length;
  return { records, checkpoint: JSON.parse(readFileSync(join(dir, RUN_FILES.checkpoint), 'utf8')), config, csvRows };
}
