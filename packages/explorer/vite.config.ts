/**
 * The explorer's build: a static site (index.html, the page's script and the engine's Web Worker as ES
 * modules) written to dist/, with relative URLs so that any static host or folder can serve it.
 * The workspace packages resolve to their built dist/ (npm run build first), as a user's bundler sees them.
 * The trainer's package (@metagrad/rl, for the adaptation panel) reaches @metagrad/envs's worker-thread
 * sampler, which imports two Node built-ins; they are aliased to src/node-stubs.ts (the page trains with
 * workers: 1, in its own Web Worker). mujoco-js's Node branch imports 'module'; it is never run here.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const stubs = fileURLToPath(new URL('./src/node-stubs.ts', import.meta.url));

export default defineConfig({
  root: import.meta.dirname,
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4000 },
  resolve: { alias: { 'node:worker_threads': stubs, 'node:os': stubs } },
  worker: { format: 'es' },
  server: { headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } },
  preview: { headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } },
});
