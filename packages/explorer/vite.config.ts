/**
 * The explorer's build: a static site (index.html, the page's script and the engine's Web Worker as ES
 * modules) written to dist/, with relative URLs so that any static host or folder can serve it.
 * The workspace packages resolve to their built dist/ (npm run build first), as a user's bundler sees them.
 */
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4000 },
  worker: { format: 'es' },
  server: { headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } },
  preview: { headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } },
});
