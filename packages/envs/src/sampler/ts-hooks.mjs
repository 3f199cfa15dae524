// Node module hooks used only by ts-worker-boot.mjs (running the sampler worker from TypeScript
// sources, as under vitest): relative `./x.js` imports from a .ts file resolve to `./x.ts` when that
// exists, `@metagrad/<pkg>[/<subpath>]` resolves to the TypeScript source behind that entry of the
// package's exports map (./dist/x.js → ./src/x.ts, as vitest.config.ts aliases it),
// and .ts files are transpiled to JavaScript on load, types erased. The transpiler is oxc through
// `rolldown/utils` (vitest's own toolchain, ~1 ms per file) when it resolves, else TypeScript's
// transpileModule (~50 ms per file).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const packagesDir = new URL('../../../', import.meta.url);

let transpile;
try {
  const { transformSync } = await import('rolldown/utils');
  transpile = (file, source) => {
    const out = transformSync(file, source, { lang: 'ts', sourceType: 'module', sourcemap: false });
    if (out.errors && out.errors.length) throw new Error(`${file}: ${out.errors.map((e) => e.message).join('; ')}`);
    return out.code;
  };
} catch {
  const ts = (await import('typescript')).default;
  transpile = (file, source) =>
    ts.transpileModule(source, { fileName: file, compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
}

/** The source file behind entry `sub` ('.', './tabular', ...) of packages/<pkg>, or null. */
function sourceOf(pkg, sub) {
  const pj = new URL(`${pkg}/package.json`, packagesDir);
  if (!existsSync(fileURLToPath(pj))) return null;
  const target = JSON.parse(readFileSync(fileURLToPath(pj), 'utf8')).exports?.[sub];
  const file = typeof target === 'string' ? target : target?.default;
  if (typeof file !== 'string' || !file.startsWith('./dist/')) return null;
  const url = new URL(`${pkg}/${file.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts')}`, packagesDir);
  return existsSync(fileURLToPath(url)) ? url : null;
}

export async function resolve(specifier, context, next) {
  const parent = context.parentURL;
  if (parent && parent.endsWith('.ts') && (specifier.startsWith('./') || specifier.startsWith('../')) && specifier.endsWith('.js')) {
    const url = new URL(specifier.slice(0, -3) + '.ts', parent);
    if (existsSync(fileURLToPath(url))) return { url: url.href, format: 'module', shortCircuit: true };
  }
  const m = /^@metagrad\/([a-z0-9-]+)(\/[a-z0-9-]+)?$/.exec(specifier);
  if (m) {
    const url = sourceOf(m[1], `.${m[2] ?? ''}`);
    if (url) return { url: url.href, format: 'module', shortCircuit: true };
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (url.startsWith('file:') && url.endsWith('.ts')) {
    const file = fileURLToPath(url);
    return { format: 'module', source: transpile(file, readFileSync(file, 'utf8')), shortCircuit: true };
  }
  return next(url, context);
}
