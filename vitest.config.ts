import { defineConfig } from 'vitest/config';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('./', import.meta.url));

/**
 * Tests import the packages by their public names ('@metagrad/autograd', '@metagrad/rl/tabular', ...),
 * so what users import is what is tested. Each name resolves to the TypeScript source behind it, read
 * off the package's own `exports` map (./dist/x.js → ./src/x.ts): no build is needed to test, and the
 * exports map stays the one list of entry points.
 */
function sourceAliases(): { find: RegExp; replacement: string }[] {
  const out: { find: RegExp; replacement: string }[] = [];
  for (const dir of readdirSync(`${root}packages`)) {
    const pj = `${root}packages/${dir}/package.json`;
    if (!existsSync(pj)) continue;
    const pkg = JSON.parse(readFileSync(pj, 'utf8')) as { name: string; exports?: Record<string, string | { default: string }> };
    for (const [sub, target] of Object.entries(pkg.exports ?? {})) {
      const file = typeof target === 'string' ? target : target.default;
      if (!file.startsWith('./dist/')) continue;
      const name = sub === '.' ? pkg.name : `${pkg.name}/${sub.slice(2)}`;
      const src = `${root}packages/${dir}/${file.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts')}`;
      out.push({ find: new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`), replacement: src });
    }
  }
  return out;
}

export default defineConfig({
  resolve: { alias: sourceAliases() },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
