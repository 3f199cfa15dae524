#!/usr/bin/env node
// The `metagrad` executable: runs the CLI compiled to ../dist (source: ../src/main.ts). A plain file
// that exists before the build, so npm links it as a bin even in a workspace checkout.
import('../dist/main.js').catch((e) => {
  if (e && e.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('dist/main.js')) {
    process.stderr.write('error: metagrad is not built yet; run `npm run build` in the repository (npm ci does it)\n');
    process.exitCode = 1;
  } else throw e;
});
