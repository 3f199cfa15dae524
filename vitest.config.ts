import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const src = (p: string): string => fileURLToPath(new URL(`./packages/${p}/src/index.ts`, import.meta.url));

// Tests run against the TypeScript sources (no build needed); `npm ci` builds dist/ for plain Node.
export default defineConfig({
  resolve: {
    alias: {
      '@metagrad/autograd': src('autograd'),
      '@metagrad/envs': src('envs'),
      '@metagrad/rl': src('rl'),
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
