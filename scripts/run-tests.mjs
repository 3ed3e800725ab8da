#!/usr/bin/env node
// Runs the compiled tests of one kind (unit | integration | all) with node's built-in test runner.
// Test files are dist/test/<kind>/**/*.test.js (compiled from test/<kind>/**/*.test.ts); extra arguments
// filter by substring of the path. Node's own summary ("ℹ pass N", "ℹ fail N") ends the output.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const [kind = 'all', ...filters] = process.argv.slice(2);
const root = join(import.meta.dirname, '..', 'dist', 'test');
const kinds = kind === 'all' ? ['unit', 'integration'] : [kind];
const files = [];
function walk(dir) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p);
    else if (e.endsWith('.test.js')) files.push(p);
  }
}
for (const k of kinds) walk(join(root, k));
const chosen = files.filter((f) => filters.length === 0 || filters.some((s) => f.includes(s))).sort();
if (chosen.length === 0) {
  console.error(
    `run-tests: no test files for '${kind}' ${filters.join(' ')} under ${root} (did the build run?)`,
  );
  process.exit(1);
}
// bin/lifeboat runs the bundle (dist/bundle) only when it is not older than dist/src: after a bare `tsc`,
// rebuild it so that the tests run what users run. A failed bundle build is reported and the tests go on
// (bin/lifeboat then uses dist/src; the bundle's own test fails).
const mtime = (p) => {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return -1;
  }
};
const dist = join(import.meta.dirname, '..', 'dist');
if (mtime(join(dist, 'bundle', 'main.js')) < mtime(join(dist, 'src', 'cli', 'main.js'))) {
  const b = spawnSync(process.execPath, [join(import.meta.dirname, 'build-bundle.mjs')], {
    stdio: 'inherit',
  });
  if (b.status !== 0)
    console.error('run-tests: building dist/bundle failed (see above); going on without it');
}
console.error(`run-tests: ${chosen.length} files: ${chosen.map((f) => relative(root, f)).join(' ')}`);
const concurrency = process.env.LIFEBOAT_TEST_CONCURRENCY ?? (kind === 'unit' ? '4' : '2');
const r = spawnSync(
  process.execPath,
  ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...chosen],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
