/** The size of a folder tree, as the install-size benchmark and the pack-and-install test measure it. */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Bytes and files under `dir`: the sum of the sizes of its files (symlinks by their own size), like `du -sb` without folders. */
export function dirSize(dir: string): { bytes: number; files: number } {
  let bytes = 0, files = 0;
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop()!;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else {
        bytes += lstatSync(p).size;
        files++;
      }
    }
  }
  return { bytes, files };
}
