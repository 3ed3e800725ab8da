#!/usr/bin/env node
// Bundles the compiled CLI (dist/src, the output of `tsc`) with esbuild into dist/bundle/, which
// bin/lifeboat loads: a few ES modules instead of ~50 files to resolve and compile on every start.
//   - Code splitting keeps the command groups lazy: each group's module is its own file, loaded only when
//     that group runs; code shared by groups lives in chunk-*.js files.
//   - Every file that the code starts by path is an entry point of its own, with its own name, next to the
//     others in dist/bundle/: worker threads (`new URL('./x.js', import.meta.url)`) and child processes
//     (`join(import.meta.dirname, 'x.js')`). They are found by scanning dist/src for those two patterns, so
//     the relative paths mean the same from dist/src/<domain>/ and from dist/bundle/. A module that starts
//     itself (`new URL(import.meta.url)`) is an entry point too, and in the bundle that URL names its entry.
//   - npm packages stay in node_modules (resolved from dist/bundle like from dist/src), except the pure-JS
//     ones listed in BUNDLED (commander: on every start; its license is copied next to the bundle).
// The bundle is written to a temporary directory and then renamed into place, so a CLI starting meanwhile
// never reads half-written files; the replaced bundle is kept for a while (running processes may still load
// lazy chunks from it) and removed by a later build.
// Usage: node scripts/build-bundle.mjs (run by `npm run build` after tsc, and by scripts/run-tests.mjs).
import { copyFileSync, existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const srcDir = join(root, 'dist', 'src');
const outDir = join(root, 'dist', 'bundle');
const BUNDLED = ['commander'];
/** Replaced bundles older than this are removed. */
const KEEP_OLD_MS = 10 * 60 * 1000;

function fail(message) {
  process.stderr.write(`build-bundle: ${message}\n`);
  process.exit(1);
}

function jsFiles(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...jsFiles(p));
    else if (e.name.endsWith('.js')) out.push(p);
  }
  return out;
}

/** `new URL(import.meta.url)`: a module that starts itself as a worker thread. */
const SELF_URL = /new URL\(\s*import\.meta\.url\s*\)/g;
/** Files with SELF_URL: in the bundle their code sits in a chunk, so the URL is rewritten to their entry's. */
const selfStarting = new Set();

/**
 * dist/src files that code starts by path (worker threads, child processes), including those that start
 * themselves.
 */
function startedByPath(files) {
  const found = new Set();
  const patterns = [
    /new URL\(\s*['"]\.\/([\w.-]+\.js)['"]\s*,\s*import\.meta\.url\s*\)/g,
    /join\(\s*import\.meta\.dirname\s*,\s*['"]([\w.-]+\.js)['"]\s*\)/g,
  ];
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    if (SELF_URL.test(text)) {
      selfStarting.add(f);
      found.add(f);
    }
    for (const re of patterns) {
      for (const m of text.matchAll(re)) {
        const target = join(dirname(f), m[1]);
        if (!existsSync(target)) fail(`${relative(root, f)} starts ${m[1]}, which dist/src does not have`);
        found.add(target);
      }
    }
  }
  return [...found].sort();
}

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  fail('esbuild is not installed (a devDependency): run `npm ci` in the checkout');
}
const { build, version: esbuildVersion } = esbuild;

if (!existsSync(join(srcDir, 'cli', 'main.js')))
  fail('dist/src/cli/main.js is missing: run `npx tsc -p .` first');
const entries = [join(srcDir, 'cli', 'main.js'), ...startedByPath(jsFiles(srcDir))];
const names = new Map();
for (const e of entries) {
  const n = basename(e);
  if (names.has(n))
    fail(`two entry points are both named ${n}: ${relative(root, names.get(n))}, ${relative(root, e)}`);
  names.set(n, e);
}

/**
 * Each started file's top-level code must run only in its own thread or process: in the bundle, the files
 * an entry loads at start (its static imports, transitively) must not hold another started file's module.
 */
function checkIsolation(meta) {
  const outputOf = new Map();
  for (const [out, o] of Object.entries(meta.outputs))
    if (o.entryPoint) outputOf.set(join(root, o.entryPoint), out);
  const started = entries.slice(1);
  for (const e of entries) {
    const seen = new Set();
    const todo = [outputOf.get(e)];
    while (todo.length > 0) {
      const out = todo.pop();
      if (seen.has(out)) continue;
      seen.add(out);
      for (const i of meta.outputs[out].imports)
        if (i.kind === 'import-statement' && !i.external) todo.push(i.path);
    }
    for (const out of seen) {
      for (const input of Object.keys(meta.outputs[out].inputs)) {
        const abs = join(root, input);
        if (abs !== e && started.includes(abs)) {
          throw new Error(
            `${relative(root, e)} loads ${relative(root, abs)} at start (via ${out}): its top-level code would run in the wrong thread`,
          );
        }
      }
    }
  }
}

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const external = Object.keys(pkg.dependencies ?? {})
  .filter((d) => !BUNDLED.includes(d))
  .flatMap((d) => [d, `${d}/*`]);
const tmp = join(root, 'dist', `.bundle-new-${Date.now()}-${process.pid}`);
try {
  const result = await build({
    entryPoints: entries,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outdir: tmp,
    entryNames: '[name]',
    chunkNames: '[name]-[hash]',
    external,
    sourcemap: 'linked',
    plugins: [
      {
        name: 'self-starting-workers',
        setup(b) {
          b.onLoad({ filter: /\.js$/ }, (args) => {
            if (!selfStarting.has(args.path)) return undefined;
            const text = readFileSync(args.path, 'utf8');
            const name = JSON.stringify(`./${basename(args.path)}`);
            return { contents: text.replace(SELF_URL, `new URL(${name}, import.meta.url)`), loader: 'js' };
          });
        },
      },
    ],
    logLevel: 'warning',
    metafile: true,
    banner: {
      // Bundled CommonJS packages call require() (for node: built-ins): give each ES module one.
      js: [
        `// Generated by scripts/build-bundle.mjs (esbuild ${esbuildVersion}) from dist/src (tsc output of src/); do not edit.`,
        "import { createRequire as __lifeboatCreateRequire } from 'node:module';",
        'const require = __lifeboatCreateRequire(import.meta.url);',
      ].join('\n'),
    },
  });
  checkIsolation(result.metafile);
  for (const p of BUNDLED) {
    for (const lic of ['LICENSE', 'LICENSE.md', 'LICENSE.txt']) {
      const from = join(root, 'node_modules', p, lic);
      if (existsSync(from)) {
        copyFileSync(from, join(tmp, `${p.replaceAll('/', '__')}.${lic}`));
        break;
      }
    }
  }
} catch (err) {
  rmSync(tmp, { recursive: true, force: true });
  fail(err instanceof Error ? err.message : String(err));
}

const distDir = join(root, 'dist');
// Swap in the new bundle; another build running at the same time may swap in its own first: retry.
for (let attempt = 0; ; attempt++) {
  try {
    renameSync(outDir, join(distDir, `.bundle-old-${Date.now()}-${process.pid}-${attempt}`));
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
  try {
    renameSync(tmp, outDir);
    break;
  } catch (err) {
    if ((err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') || attempt >= 5) {
      rmSync(tmp, { recursive: true, force: true });
      fail(`cannot move the new bundle into place: ${err.message}`);
    }
  }
}
for (const e of readdirSync(distDir)) {
  const m = /^\.bundle-(?:old|new)-(\d+)-/.exec(e);
  if (m && Date.now() - Number(m[1]) > KEEP_OLD_MS)
    rmSync(join(distDir, e), { recursive: true, force: true });
}
process.stderr.write(
  `build-bundle: dist/bundle/ from ${entries.length} entry points (${entries.map((e) => basename(e)).join(', ')})\n`,
);
