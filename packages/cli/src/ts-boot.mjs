// Development entry of `executeRuns`' child processes when the CLI runs from its TypeScript sources
// (vitest): registers the sampler's ts-hooks.mjs (TypeScript transpiled on load, `@metagrad/*` mapped to
// packages/*/src). The built package (dist/) forks dist/cli/runChild.js directly instead.
import { register } from 'node:module';

register('../../envs/src/sampler/ts-hooks.mjs', import.meta.url);
