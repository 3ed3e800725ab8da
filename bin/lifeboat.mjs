#!/usr/bin/env node
// Lifeboat's entry, started by bin/lifeboat (which sets the C library's memory tunables first; `node
// bin/lifeboat.mjs` runs without them): loads the CLI and hands its exit code to the process. It loads the bundle
// (dist/bundle/main.js, scripts/build-bundle.mjs: faster start) when it is at least as new as the compiled
// tree (dist/src, tsc), else dist/src itself: after a bare `tsc` the bundle is stale and is not used.
// LIFEBOAT_BUILD=bundle|src insists on one of the two, however old (tests, benchmarks).
import { statSync } from 'node:fs';

const BUNDLE = '../dist/bundle/main.js';
const SRC = '../dist/src/cli/main.js';
const mtime = (rel) => {
  try {
    return statSync(new URL(rel, import.meta.url)).mtimeMs;
  } catch {
    return undefined;
  }
};
const fail = (msg) => {
  process.stderr.write(`lifeboat: error: ${msg}\n`);
  process.exit(1);
};

const want = process.env.LIFEBOAT_BUILD;
if (want !== undefined && want !== 'bundle' && want !== 'src') {
  fail(`LIFEBOAT_BUILD: expected bundle or src, got '${want}'`);
}
const bundleTime = want === 'src' ? undefined : mtime(BUNDLE);
const srcTime = want === 'bundle' ? undefined : mtime(SRC);
let entry;
if (want === 'bundle') {
  if (bundleTime === undefined) fail('LIFEBOAT_BUILD=bundle: dist/bundle is not built; run `npm run build`');
  entry = BUNDLE;
} else if (bundleTime !== undefined && (srcTime === undefined || bundleTime >= srcTime)) entry = BUNDLE;
else if (srcTime !== undefined) entry = SRC;
else fail('not built yet; run `npm ci && npm run build` in the checkout');

const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
