/**
 * Benchmark of the offline snapshot reader (issue 3), side by side in one run, median of 5, warm cache,
 * peak RSS from /usr/bin/time; the file-reading commands run in rounds (one of each per round) and their
 * ratios are medians of per-round ratios, robust against load from other work on the machine:
 *   cat FILE > /dev/null | etcdutl 3.5 snapshot status | lifeboat snapshot status | lifeboat full listing
 *   (keys only, with values) | the throwaway-etcd method (etcdutl snapshot restore + etcd + etcdctl get ""
 *   --prefix, keys only and with values).
 * Fixture A (default): about 1 GiB — 1,400 values of 700 KB plus 100k small keys, written through a real
 * etcd 3.5 and saved with etcdctl. `--smoke`: 14 values and 1,000 keys (≤ 60 s). `--fixture FILE` reuses a
 * snapshot; `--keep DIR` keeps the built fixture there (and reuses it on the next run). `--fixture-b`:
 * fixture B instead (1 M revisions of 0.5–20 KB values over 200k keys, compacted; --smoke: 10k over 2k).
 *
 * lifeboat runs as users run it, from the bundle (dist/bundle; rebuilt first when older than dist/src); the
 * key listing also runs from dist/src, to show what the bundle saves.
 *
 * Run: npx tsc -p . && node dist/bench/snapshot-reader.js [--smoke] [--fixture-b] [--runs N] [--fixture FILE]
 *      [--keep DIR]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { etcdBinaries } from '../src/lab/binaries.js';
import { Harness } from '../src/lab/harness.js';
import { packageRoot } from '../src/util/version.js';

interface Timed {
  seconds: number;
  /** user + system CPU seconds (robust against a busy machine, unlike wall-clock time). */
  cpu: number;
  rssKiB: number;
  code: number;
}

function sh(
  cmd: string,
  args: string[],
  opts: { input?: Buffer | string; stdout?: 'ignore' | 'pipe' } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['pipe', opts.stdout ?? 'pipe', 'pipe'] });
    let so = '';
    let se = '';
    c.stdout?.on('data', (d: Buffer) => (so += d.toString()));
    c.stderr!.on('data', (d: Buffer) => (se += d.toString()));
    c.on('error', reject);
    c.on('close', (code) => resolve({ code: code ?? -1, stdout: so, stderr: se }));
    c.stdin!.on('error', () => undefined);
    c.stdin!.end(opts.input ?? '');
  });
}

/** Runs a shell command line under /usr/bin/time; stdout discarded. */
async function timed(cmdline: string): Promise<Timed> {
  const start = process.hrtime.bigint();
  const r = await sh('/usr/bin/time', ['-f', '%M %U %S', 'sh', '-c', `( ${cmdline} ) > /dev/null`]);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const lines = r.stderr.trim().split('\n');
  const [rss, user, sys] = lines[lines.length - 1]!.split(' ').map(Number);
  if (r.code !== 0) throw new Error(`${cmdline} failed: ${r.stderr.slice(-500)}`);
  return { seconds, cpu: (user ?? 0) + (sys ?? 0), rssKiB: rss ?? 0, code: r.code };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface Row {
  name: string;
  seconds: number;
  cpu: number;
  rssMiB: number;
  all: Timed[];
}

async function bench(name: string, runs: number, fn: () => Promise<Timed>): Promise<Row> {
  const all: Timed[] = [];
  for (let i = 0; i < runs; i++) all.push(await fn());
  const r = {
    name,
    seconds: median(all.map((t) => t.seconds)),
    cpu: median(all.map((t) => t.cpu)),
    rssMiB: Math.max(...all.map((t) => t.rssKiB)) / 1024,
    all,
  };
  process.stderr.write(
    `  ${name}: ${r.seconds.toFixed(3)} s (cpu ${r.cpu.toFixed(2)} s), peak RSS ${r.rssMiB.toFixed(0)} MiB\n`,
  );
  return r;
}

async function buildFixture(dir: string, smoke: boolean): Promise<string> {
  const bigCount = smoke ? 14 : 1400;
  const smallCount = smoke ? 1000 : 100_000;
  process.stderr.write(`building fixture: ${bigCount} values of 700 KB + ${smallCount} small keys...\n`);
  const h = await Harness.start({
    etcdMinor: '3.5',
    tls: false,
    etcdArgs: ['--max-request-bytes=10485760', '--quota-backend-bytes=8589934592', '--max-txn-ops=1000'],
  });
  try {
    const ctl = etcdBinaries('3.6').etcdctl;
    const ep = `--endpoints=${h.etcd.endpoints[0]}`;
    const value = randomBytes(700 * 1000);
    for (let i = 0; i < bigCount; i++) {
      const r = await sh(
        ctl,
        [ep, '--max-request-bytes=10485760', 'put', `/registry/blobs/b${String(i).padStart(5, '0')}`],
        { input: value },
      );
      if (r.code !== 0) throw new Error(r.stderr);
    }
    for (let t = 0; t < smallCount / 500; t++) {
      const lines = Array.from({ length: 500 }, (_, j) => {
        const n = t * 500 + j;
        return `put /registry/configmaps/ns${n % 100}/cm${n} value-${n}-${'x'.repeat(100)}`;
      });
      const r = await sh(ctl, [ep, 'txn'], { input: `\n${lines.join('\n')}\n\n\n` });
      if (r.code !== 0) throw new Error(r.stderr);
    }
    const file = join(dir, smoke ? 'fixture-smoke.snap' : 'fixture-a.snap');
    const r = await sh(ctl, [ep, 'snapshot', 'save', file]);
    if (r.code !== 0) throw new Error(r.stderr);
    return file;
  } finally {
    await h.stop();
  }
}

/**
 * Fixture B: `rounds` × `keys` revisions of 0.5–20 KB values (uniform) over `keys` keys, written through a
 * real etcd 3.5 in transactions; physically compacted after each round but the last (freed pages are
 * reused, keeping the file near two rounds of values), so the file holds the live keys plus one round of
 * history. Full size: 200k keys × 5 rounds = 1 M revisions.
 */
async function buildFixtureB(dir: string, smoke: boolean): Promise<string> {
  const keys = smoke ? 2000 : 200_000;
  const rounds = 5;
  process.stderr.write(
    `building fixture B: ${keys * rounds} revisions of 0.5-20 KB values over ${keys} keys...\n`,
  );
  const h = await Harness.start({
    etcdMinor: '3.5',
    tls: false,
    etcdArgs: ['--max-request-bytes=10485760', '--quota-backend-bytes=8589934592', '--max-txn-ops=1000'],
  });
  try {
    const ctl = etcdBinaries('3.6').etcdctl;
    const ep = `--endpoints=${h.etcd.endpoints[0]}`;
    const run = async (args: string[], input?: string) => {
      const r = await sh(ctl, [ep, ...args], input !== undefined ? { input } : {});
      if (r.code !== 0) throw new Error(`etcdctl ${args[0]}: ${r.stderr.slice(-300)}`);
      return r.stdout;
    };
    for (let round = 0; round < rounds; round++) {
      let lines: string[] = [];
      let bytes = 0;
      const flush = async () => {
        if (lines.length === 0) return;
        await run(['--max-request-bytes=10485760', 'txn'], `\n${lines.join('\n')}\n\n\n`);
        lines = [];
        bytes = 0;
      };
      for (let k = 0; k < keys; k++) {
        const size = 500 + Math.floor(Math.random() * 19_501);
        const value = randomBytes(Math.ceil((size * 3) / 4) + 3)
          .toString('base64')
          .slice(0, size);
        lines.push(`put /registry/things/ns${k % 500}/obj${k} ${value}`);
        bytes += size + 40;
        if (lines.length >= 1000 || bytes >= 6 << 20) await flush();
      }
      await flush();
      if (round < rounds - 1) {
        const rev = /"revision":(\d+)/.exec(await run(['get', 'x', '-w', 'json']))?.[1];
        if (!rev) throw new Error('no revision in etcdctl get -w json');
        await run(['--command-timeout=600s', 'compact', rev, '--physical']);
      }
      process.stderr.write(`  round ${round + 1}/${rounds} written\n`);
    }
    const file = join(dir, smoke ? 'fixture-b-smoke.snap' : 'fixture-b.snap');
    await run(['snapshot', 'save', file]);
    return file;
  } finally {
    await h.stop();
  }
}

async function throwaway(file: string, dir: string, keysOnly: boolean): Promise<Timed> {
  const b = etcdBinaries('3.5');
  const data = join(dir, `restore-${process.hrtime.bigint()}`);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const ip = '127.0.0.1';
  const script = [
    `${b.etcdutl} snapshot restore ${file} --data-dir ${data} --name t --initial-cluster t=http://${ip}:${port + 1} --initial-advertise-peer-urls http://${ip}:${port + 1} >/dev/null 2>&1`,
    `(${b.etcd} --data-dir ${data} --name t --listen-client-urls http://${ip}:${port} --advertise-client-urls http://${ip}:${port} --listen-peer-urls http://${ip}:${port + 1} --initial-advertise-peer-urls http://${ip}:${port + 1} --initial-cluster t=http://${ip}:${port + 1} --quota-backend-bytes=8589934592 >/dev/null 2>&1 & echo $! > ${data}.pid)`,
    `until ${b.etcdctl} --endpoints=http://${ip}:${port} endpoint health >/dev/null 2>&1; do sleep 0.05; done`,
    `${b.etcdctl} --endpoints=http://${ip}:${port} get "" --prefix ${keysOnly ? '--keys-only' : ''}`,
    `kill $(cat ${data}.pid); rm -rf ${data} ${data}.pid`,
  ].join(' && ');
  return timed(script);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const smoke = argv.includes('--smoke');
  const runs = Number(argv[argv.indexOf('--runs') + 1] ?? 0) || (smoke ? 3 : 5);
  const keep = argv.includes('--keep') ? argv[argv.indexOf('--keep') + 1]! : undefined;
  const given = argv.includes('--fixture') ? argv[argv.indexOf('--fixture') + 1]! : undefined;
  const dir = keep ?? mkdtempSync(join(tmpdir(), 'lifeboat-bench-'));
  mkdirSync(dir, { recursive: true });
  try {
    const fixtureB = argv.includes('--fixture-b');
    const name = fixtureB
      ? smoke
        ? 'fixture-b-smoke.snap'
        : 'fixture-b.snap'
      : smoke
        ? 'fixture-smoke.snap'
        : 'fixture-a.snap';
    const file =
      given ??
      (keep && existsSync(join(dir, name))
        ? join(dir, name)
        : fixtureB
          ? await buildFixtureB(dir, smoke)
          : await buildFixture(dir, smoke));
    const size = statSync(file).size;
    // The CLI as users run it: the bundle (dist/bundle), rebuilt when older than dist/src (after a bare tsc).
    const built = (p: string) => (existsSync(p) ? statSync(p).mtimeMs : -1);
    const bundleMain = join(packageRoot(), 'dist', 'bundle', 'main.js');
    if (built(bundleMain) < built(join(packageRoot(), 'dist', 'src', 'cli', 'main.js'))) {
      const b = await sh(process.execPath, [join(packageRoot(), 'scripts', 'build-bundle.mjs')]);
      if (b.code !== 0) throw new Error(`building dist/bundle failed: ${b.stderr.trim()}`);
    }
    process.env.LIFEBOAT_BUILD = 'bundle';
    const bin = join(packageRoot(), 'bin', 'lifeboat');
    const lifeboat = bin;
    const lifeboatSrc = `LIFEBOAT_BUILD=src ${bin}`;
    const etcdutl = etcdBinaries('3.5').etcdutl!;
    process.stderr.write(`fixture ${file}: ${(size / 2 ** 20).toFixed(1)} MiB; ${runs} runs each, median\n`);
    await timed(`cat ${file}`); // warm the page cache
    // Timed in rounds (each round runs each command once, in this order) so that load from other work on
    // a shared machine falls on all of them alike; ratios among them are medians of per-round ratios.
    const cases: [string, string][] = [
      ['cat file > /dev/null', `cat ${file}`],
      ['etcdutl 3.5 snapshot status', `${etcdutl} snapshot status ${file} -w json`],
      ['lifeboat snapshot status', `${lifeboat} snapshot status ${file} -o json`],
      ['lifeboat snapshot status --sha256', `${lifeboat} snapshot status ${file} -o json --sha256`],
      [
        'lifeboat kv get "" --prefix --keys-only',
        `${lifeboat} kv get "" --prefix --keys-only --from ${file}`,
      ],
      [
        '  the same from dist/src (no bundle)',
        `${lifeboatSrc} kv get "" --prefix --keys-only --from ${file}`,
      ],
      ['lifeboat kv get "" --prefix (values)', `${lifeboat} kv get "" --prefix --from ${file}`],
    ];
    const rounds = new Map<string, Timed[]>(cases.map(([n]) => [n, []]));
    for (let i = 0; i < runs; i++) for (const [n, cmd] of cases) rounds.get(n)!.push(await timed(cmd));
    const rows: Row[] = [];
    for (const [n] of cases) rows.push(await bench(n, runs, async () => rounds.get(n)!.shift()!));
    const perRound = (a: string, b: string) => {
      const ra = rows.find((r) => r.name === a)!.all;
      const rb = rows.find((r) => r.name === b)!.all;
      return median(ra.map((t, i) => t.seconds / rb[i]!.seconds));
    };
    const tRuns = smoke ? 1 : Math.min(runs, 3);
    rows.push(
      await bench('throwaway etcd: restore+start+get --keys-only', tRuns, () => throwaway(file, dir, true)),
    );
    rows.push(
      await bench('throwaway etcd: restore+start+get (values)', tRuns, () => throwaway(file, dir, false)),
    );
    const by = (n: string) => rows.find((r) => r.name === n)!.seconds;
    const cpuBy = (n: string) => rows.find((r) => r.name === n)!.cpu;
    const ratios = {
      'status / etcdutl status (target ≤ 1.5)': perRound(
        'lifeboat snapshot status',
        'etcdutl 3.5 snapshot status',
      ),
      'status --sha256 / etcdutl status (no target)': perRound(
        'lifeboat snapshot status --sha256',
        'etcdutl 3.5 snapshot status',
      ),
      'full key listing / cat (target ≤ 3)': perRound(
        'lifeboat kv get "" --prefix --keys-only',
        'cat file > /dev/null',
      ),
      'full key listing from dist/src (no bundle) / cat': perRound(
        '  the same from dist/src (no bundle)',
        'cat file > /dev/null',
      ),
      'full listing with values / cat': perRound(
        'lifeboat kv get "" --prefix (values)',
        'cat file > /dev/null',
      ),
      'throwaway keys-only / lifeboat keys-only (target ≥ 10)':
        by('throwaway etcd: restore+start+get --keys-only') / by('lifeboat kv get "" --prefix --keys-only'),
      'throwaway values / lifeboat values (target ≥ 10)':
        by('throwaway etcd: restore+start+get (values)') / by('lifeboat kv get "" --prefix (values)'),
      'cpu: status / etcdutl status':
        cpuBy('lifeboat snapshot status') / cpuBy('etcdutl 3.5 snapshot status'),
      'cpu: throwaway values / lifeboat values':
        cpuBy('throwaway etcd: restore+start+get (values)') / cpuBy('lifeboat kv get "" --prefix (values)'),
    };
    const lines = [
      `fixture: ${file} (${(size / 2 ** 20).toFixed(1)} MiB)${smoke ? ' [smoke]' : ''}`,
      ...rows.map(
        (r) =>
          `${r.name.padEnd(48)} ${r.seconds.toFixed(3).padStart(9)} s  cpu ${r.cpu.toFixed(2).padStart(6)} s  ${r.rssMiB.toFixed(0).padStart(6)} MiB peak RSS`,
      ),
      ...Object.entries(ratios).map(([k, v]) => `${k.padEnd(56)} ${v.toFixed(2)}`),
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
