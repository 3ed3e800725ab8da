/**
 * The bundled CLI (dist/bundle, scripts/build-bundle.mjs), which bin/lifeboat loads: it gives the same
 * results as the compiled tree (dist/src), its worker threads start from their own files, every file the code
 * starts by path exists next to it, and the command groups stay lazy. scripts/run-tests.mjs builds the bundle
 * when it is older than dist/src; LIFEBOAT_BUILD=bundle makes bin/lifeboat use it whatever its age.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { CTL, DONE, sharedQueue } from '../../../src/etcd/crc-ranges.js';
import { crc32c } from '../../../src/etcd/index.js';
import { packageRoot } from '../../../src/util/version.js';
import { runCli } from '../../helpers/cli.js';
import { FACTS, FIXTURE } from '../snapshot/fixture.js';

const bundleDir = join(packageRoot(), 'dist', 'bundle');
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-bundle-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const run = (build: 'bundle' | 'src', args: string[]) =>
  runCli(args, { env: { ...process.env, LIFEBOAT_BUILD: build, NODE_DEBUG: 'worker' }, timeoutMs: 60_000 });

/** The files a bundle file imports statically (`import … from "./x.js"`, `import "./x.js"`). */
function staticImports(file: string): string[] {
  const text = readFileSync(join(bundleDir, file), 'utf8');
  return [...text.matchAll(/^import\s+(?:[^'"]*?\s+from\s+)?["']\.\/([\w.-]+\.js)["'];?$/gm)].map(
    (m) => m[1]!,
  );
}

describe('the bundled CLI (dist/bundle)', () => {
  it('snapshot status: same output as dist/src, and the CRC helper thread starts from the bundle', async () => {
    // Padded to 64 MiB + the fixture: from 64 MiB on, status hashes large values on a helper thread.
    const file = join(dir, 'padded.snap');
    const fd = openSync(file, 'w', 0o600);
    try {
      writeSync(fd, readFileSync(FIXTURE));
      const zeros = Buffer.alloc(1 << 20);
      for (let i = 0; i < 64; i++) writeSync(fd, zeros);
    } finally {
      closeSync(fd);
    }
    const b = await run('bundle', ['snapshot', 'status', file, '-o', 'json']);
    const s = await run('src', ['snapshot', 'status', file, '-o', 'json']);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(s.code, 0, s.stderr);
    assert.equal(b.stdout, s.stdout);
    assert.equal((JSON.parse(b.stdout) as { hash: number }).hash, FACTS.etcdutl36.hash);
    // The CLI creates its helper thread from the bundle's own entry file (whether the thread gets to start
    // before this small status is done is up to timing; the next test runs that file to the end).
    const created = (r: { stderr: string }) =>
      /instantiating Worker\. url: (\S+)/.exec(r.stderr)?.[1]?.replace(/^file:\/\//, '');
    assert.equal(created(b), join(bundleDir, 'crc-ranges-worker.js'), b.stderr);
    assert.equal(created(s), join(packageRoot(), 'dist', 'src', 'etcd', 'crc-ranges-worker.js'), s.stderr);
    assert.doesNotMatch(b.stderr, /uncaught exception/, 'the helper thread did not fail');
  });

  it("the bundle's CRC helper thread computes the ranges queued for it", async () => {
    const data = readFileSync(FIXTURE);
    const q = sharedQueue(2);
    const plan: [number, number][] = [
      [0, 100_000],
      [4096, 65_536],
    ];
    plan.forEach(([pos, len], i) => {
      q.ranges[i * 2] = pos;
      q.ranges[i * 2 + 1] = len;
    });
    Atomics.store(q.ctl, CTL.published, plan.length);
    Atomics.store(q.ctl, CTL.finished, 1);
    const w = new Worker(join(bundleDir, 'crc-ranges-worker.js'), {
      workerData: { path: FIXTURE, queue: q },
    });
    const code = await new Promise<number>((resolve, reject) => {
      w.once('error', reject);
      w.once('exit', resolve);
    });
    assert.equal(code, 0);
    assert.equal(Atomics.load(q.ctl, CTL.helped), plan.length, 'the helper computed every range');
    plan.forEach(([pos, len], i) => {
      assert.equal(q.state[i], DONE);
      assert.equal(q.crcs[i]! >>> 0, crc32c(data.subarray(pos, pos + len)), `range ${i}`);
    });
  });

  it('kv get: same listing as dist/src', async () => {
    for (const args of [
      ['kv', 'get', '', '--prefix', '--keys-only', '--from', FIXTURE],
      ['kv', 'get', '/k/', '--prefix', '-w', 'json', '--from', FIXTURE],
    ]) {
      const b = await run('bundle', args);
      const s = await run('src', args);
      assert.equal(b.code, 0, b.stderr);
      assert.equal(b.stdout, s.stdout);
      assert.ok(b.stdout.length > 0);
    }
  });

  it('every file the bundled code starts by path is in dist/bundle', () => {
    const files = readdirSync(bundleDir).filter((f) => f.endsWith('.js'));
    const started = new Set<string>();
    for (const f of files) {
      const text = readFileSync(join(bundleDir, f), 'utf8');
      assert.doesNotMatch(
        text,
        /new URL\(\s*import\.meta\.url\s*\)/,
        `${f} starts itself by import.meta.url`,
      );
      for (const m of text.matchAll(/new URL\(\s*["']\.\/([\w.-]+\.js)["']\s*,\s*import\.meta\.url\s*\)/g))
        started.add(m[1]!);
      for (const m of text.matchAll(/join\(\s*import\.meta\.dirname\s*,\s*["']([\w.-]+\.js)["']\s*\)/g))
        started.add(m[1]!);
    }
    for (const name of ['crc-ranges-worker.js', 'inspect-worker.js', 'supervisor-entry.js'])
      assert.ok(started.has(name), `the bundle starts ${name}`);
    for (const name of started) assert.ok(existsSync(join(bundleDir, name)), `dist/bundle/${name} exists`);
  });

  it('bin/lifeboat runs the bundle unless it is older than dist/src; LIFEBOAT_BUILD insists', async () => {
    // A stand-in checkout: bin/lifeboat (and the lifeboat.mjs it starts) with two stub CLIs that say which ran.
    const root = join(dir, 'checkout');
    mkdirSync(join(root, 'bin'), { recursive: true });
    for (const f of ['lifeboat', 'lifeboat.mjs'])
      copyFileSync(join(packageRoot(), 'bin', f), join(root, 'bin', f));
    chmodSync(join(root, 'bin', 'lifeboat'), 0o755);
    writeFileSync(join(root, 'package.json'), '{ "type": "module" }\n');
    const stub = (rel: string, name: string) => {
      mkdirSync(join(root, rel, '..'), { recursive: true });
      writeFileSync(
        join(root, rel),
        `export async function main(argv) { process.stdout.write('${name} ' + argv.join(',')); return 7; }\n`,
      );
    };
    const runBin = (build?: string) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
        const env = { ...process.env };
        delete env.LIFEBOAT_BUILD;
        if (build !== undefined) env.LIFEBOAT_BUILD = build;
        execFile(join(root, 'bin', 'lifeboat'), ['a', 'b'], { env }, (err, stdout, stderr) => {
          if (err && typeof err.code !== 'number') reject(err);
          else resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
        });
      });
    const none = await runBin();
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^lifeboat: error: not built yet; run `npm ci && npm run build`/);
    stub('dist/src/cli/main.js', 'src');
    assert.deepEqual(await runBin(), { code: 7, stdout: 'src a,b', stderr: '' });
    stub('dist/bundle/main.js', 'bundle');
    assert.equal((await runBin()).stdout, 'bundle a,b', 'a bundle as new as dist/src runs');
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(root, 'dist', 'bundle', 'main.js'), old, old);
    assert.equal(
      (await runBin()).stdout,
      'src a,b',
      'a bundle older than dist/src (after a bare tsc) does not',
    );
    assert.equal((await runBin('bundle')).stdout, 'bundle a,b', 'LIFEBOAT_BUILD=bundle runs it anyway');
    assert.equal((await runBin('src')).stdout, 'src a,b');
    const bad = await runBin('both');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /LIFEBOAT_BUILD: expected bundle or src, got 'both'/);
  });

  it("bin/lifeboat sets glibc's malloc trim and mmap thresholds and keeps the caller's tunables, which win", async () => {
    const root = join(dir, 'tunables');
    mkdirSync(join(root, 'bin'), { recursive: true });
    copyFileSync(join(packageRoot(), 'bin', 'lifeboat'), join(root, 'bin', 'lifeboat'));
    chmodSync(join(root, 'bin', 'lifeboat'), 0o755);
    writeFileSync(
      join(root, 'bin', 'lifeboat.mjs'),
      `process.stdout.write(String(process.env.GLIBC_TUNABLES) + ' ' + process.argv.slice(2).join(','));\n`,
    );
    const run = (tunables?: string) =>
      new Promise<string>((resolve, reject) => {
        const env = { ...process.env };
        delete env.GLIBC_TUNABLES;
        if (tunables !== undefined) env.GLIBC_TUNABLES = tunables;
        execFile(join(root, 'bin', 'lifeboat'), ['x', 'y z'], { env }, (err, stdout) =>
          err ? reject(err) : resolve(stdout),
        );
      });
    assert.equal(
      await run(),
      'glibc.malloc.trim_threshold=67108864:glibc.malloc.mmap_threshold=33554432 x,y z',
    );
    assert.equal(
      await run('glibc.malloc.trim_threshold=1'),
      'glibc.malloc.trim_threshold=67108864:glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1 x,y z',
    );
  });

  it('command groups stay lazy: what main.js loads at start holds no group and no AWS/gRPC client', () => {
    const seen = new Set<string>();
    const todo = ['main.js'];
    while (todo.length > 0) {
      const f = todo.pop()!;
      if (seen.has(f)) continue;
      seen.add(f);
      todo.push(...staticImports(f));
    }
    const main = readFileSync(join(bundleDir, 'main.js'), 'utf8');
    assert.match(main, /import\("\.\/kv-[\w]+\.js"\)/, 'the kv group is loaded by a dynamic import');
    for (const f of seen) {
      const text = readFileSync(join(bundleDir, f), 'utf8');
      assert.doesNotMatch(text, /from ["'](@aws-sdk|@grpc)\//, `${f} (loaded at start) imports a client`);
      assert.doesNotMatch(text, /^\/\/ dist\/src\/cli\/commands\/(?!output)/m, `${f} holds a command group`);
    }
    assert.ok(seen.size < 10, `main.js loads ${seen.size} files at start`);
  });
});
