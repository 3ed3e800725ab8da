/**
 * Benchmark of Lifeboat's Kubernetes object decoder (issue 4): decode every object of a snapshot into the
 * apiserver's JSON, objects/s and peak RSS (from /usr/bin/time), median of N runs.
 *
 * Two pairs, each tool doing the same work:
 *   - decode and print: `lifeboat dump --from FILE --show-managed-fields --show-secrets` (the CLI a user runs:
 *     every live object under /registry/ as JSON, one per line, to a pipe) against auger
 *     `extract --fields=key,value` (every value converted to JSON and printed, one line per object);
 *   - decode only: the library's bulk path in a process of its own (`--decode FILE`: liveValues reads the
 *     live values in file order, decodeManyJson makes each one's JSON text, nothing is printed) against auger
 *     `extract --fields=key` (auger still converts every value to JSON, then prints only the key).
 * Both Lifeboat paths can use helper threads; by default they do only on machines with 4+ free CPUs (on 2
 * vCPUs both were measured slower than one thread). `--threads N` sets the decode threads of the decode-only
 * pass, `--reader-helper` makes liveValues read on a helper thread there.
 *
 * Fixture: a real kube-apiserver (harness, every feature gate on) gets the test corpus (65 kinds); the stored
 * values of those objects are then copied under new keys straight into etcd until the store holds ≥ 100,000
 * objects (`--smoke`: ≈ 2,000), and `etcdctl snapshot save` writes the file. `--fixture FILE` reuses one.
 *
 * auger (github.com/etcd-io/auger, the usual comparison) cannot be fetched by `go` here: the Go module proxy
 * answers 403 for it, so scripts/install-binaries does not build it. When an auger binary is present anyway
 * (`LIFEBOAT_AUGER=/path/to/auger`, else ${XDG_CACHE_HOME:-~/.cache}/lifeboat/auger-fetched/auger; see
 * docs/binaries.md) it runs on the same file in the same run (`auger extract -f FILE --keys-by-prefix
 * /registry/`; a value auger cannot decode prints `null`). Throughput is compared on process wall time (open +
 * decode + exit) for both tools. Without a binary its column says why it is unavailable.
 *
 * Run: npx tsc -p . && node dist/bench/kube-decode.js [--smoke] [--runs N] [--fixture FILE] [--keep DIR]
 *        [--threads N] [--reader-helper]
 *      node dist/bench/kube-decode.js --decode FILE [--threads N] [--reader-helper]   (one pass; prints {objects, seconds})
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeManyJson } from '../src/kube/decode-many.js';
import { liveValues } from '../src/kube/live-values.js';
import { openSnapshot } from '../src/snapshot/index.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

async function decodeAll(file: string, threads: number | undefined, readerHelper: boolean): Promise<void> {
  const snap = await openSnapshot(file);
  const started = process.hrtime.bigint();
  let objects = 0;
  let bytes = 0;
  let failed = 0;
  const stats = { threads: 0, helped: 0 };
  const readStats = { helped: 0 };
  try {
    // The library's bulk path: the live values read (live-values.ts), each one's apiserver JSON text made by
    // decodeManyJson (decode-many.ts), everything shown as auger shows it (managedFields, Secret values).
    const stored = liveValues(snap.db, 0n, Buffer.from('/registry/'), {
      ...(readerHelper ? { helper: true } : {}),
      stats: readStats,
    });
    const opts = {
      stats,
      show: { showManagedFields: true, showSecrets: true },
      ...(threads === undefined ? {} : { threads }),
    };
    for (const d of decodeManyJson(stored, opts)) {
      if (d.json === undefined) failed++;
      else {
        bytes += d.json.length;
        objects++;
      }
    }
  } finally {
    snap.close();
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(
    JSON.stringify({
      objects,
      failed,
      seconds,
      jsonBytes: bytes,
      threads: stats.threads,
      decodedByHelper: stats.helped,
      readByHelper: readStats.helped,
    }) + '\n',
  );
}

interface Timed {
  stdout: string;
  /** With countLines: complete stdout lines, and those ending in " null" (auger's undecodable value). */
  lines: number;
  nullLines: number;
  rssKiB: number;
  /** User + system CPU seconds of the process (all its threads). */
  cpuSeconds: number;
  wallSeconds: number;
  code: number;
  stderr: string;
}

function timed(cmd: string, argv: string[], opts: { countLines?: boolean } = {}): Promise<Timed> {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', '%M %U %S', cmd, ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let lines = 0;
    let nullLines = 0;
    let tail = Buffer.alloc(0); // last bytes of the previous chunk, to see " null" across chunk boundaries
    const nullEnd = Buffer.from(' null');
    child.stdout.on('data', (c: Buffer) => {
      if (!opts.countLines) {
        stdout += c.toString();
        return;
      }
      const buf = tail.length ? Buffer.concat([tail, c]) : c;
      let from = tail.length;
      for (let i = buf.indexOf(0x0a, from); i >= 0; i = buf.indexOf(0x0a, from)) {
        lines++;
        if (i >= nullEnd.length && buf.subarray(i - nullEnd.length, i).equals(nullEnd)) nullLines++;
        from = i + 1;
      }
      tail = Buffer.from(buf.subarray(Math.max(0, buf.length - nullEnd.length)));
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => {
      const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      const errLines = stderr.trim().split('\n');
      const last = errLines[errLines.length - 1]!.split(' ');
      resolve({
        stdout,
        lines,
        nullLines,
        rssKiB: Number(last[0]),
        cpuSeconds: Number(last[1]) + Number(last[2]),
        wallSeconds,
        code: code ?? 1,
        stderr: errLines.slice(0, -1).join('\n'),
      });
    });
  });
}

/** The auger binary to compare with, or why there is none. */
function augerBinary(): { path: string } | { unavailable: string } {
  const fromEnv = process.env['LIFEBOAT_AUGER'];
  const cache = process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache');
  const path = fromEnv || join(cache, 'lifeboat', 'auger-fetched', 'auger');
  const proxy = 'github.com/etcd-io/auger cannot be fetched: the Go module proxy answers 403';
  if (!existsSync(path)) {
    return {
      unavailable: fromEnv
        ? `LIFEBOAT_AUGER=${fromEnv} does not exist`
        : `${proxy}; no binary at ${path} (set LIFEBOAT_AUGER to use one built elsewhere)`,
    };
  }
  try {
    accessSync(path, constants.X_OK);
    if (!statSync(path).isFile()) throw new Error('not a file');
  } catch {
    return { unavailable: `${path} is not an executable file` };
  }
  return { path };
}

interface AugerResult {
  command: string;
  objects: number;
  undecodable: number | null;
  seconds: number;
  objectsPerSecond: number;
  peakRssMiB: number;
  cpuSeconds: number;
}

function augerArgv(file: string, fields: string): string[] {
  return ['extract', '-f', file, '--keys-by-prefix', '/registry/', `--fields=${fields}`];
}

async function augerOnce(bin: string, file: string, fields: string): Promise<Timed> {
  const argv = augerArgv(file, fields);
  const t = await timed(bin, argv, { countLines: true });
  if (t.code !== 0) throw new Error(`auger ${argv.join(' ')} failed (exit ${t.code}): ${t.stderr}`);
  return t;
}

function augerSummary(file: string, fields: string, results: Timed[]): AugerResult {
  const sorted = [...results].sort((a, b) => a.wallSeconds - b.wallSeconds);
  const med = sorted[Math.floor(sorted.length / 2)]!;
  return {
    command: `auger ${augerArgv(file, fields).join(' ')}`,
    objects: med.lines,
    // Only the value column shows a failed conversion (as `null`); with --fields=key it is invisible.
    undecodable: fields.includes('value') ? med.nullLines : null,
    seconds: +med.wallSeconds.toFixed(3),
    objectsPerSecond: Math.round(med.lines / med.wallSeconds),
    peakRssMiB: +(Math.max(...results.map((r) => r.rssKiB)) / 1024).toFixed(1),
    cpuSeconds: +med.cpuSeconds.toFixed(2),
  };
}

async function buildFixture(target: number, dir: string): Promise<string> {
  // Loaded here, not at the top: the measured `--decode` process loads only what decoding needs (the
  // harness, gRPC client and test corpus cost ≈ 0.5 s of CPU to load, which auger has no counterpart of).
  const { EtcdClient } = await import('../src/etcd-client/client.js');
  const { Harness } = await import('../src/lab/harness.js');
  const { etcdctl } = await import('../test/helpers/etcdctl.js');
  const { parseEtcdctlJson } = await import('../test/integration/kube/compare.js');
  const { CORPUS_APISERVER_ARGS, createCorpus } = await import('../test/integration/kube/corpus.js');
  const h = await Harness.start({ etcdMembers: 1, apiserver: true, apiserverArgs: CORPUS_APISERVER_ARGS });
  try {
    await createCorpus(h);
    const r = await etcdctl(h, ['get', '/registry/', '--prefix', '-w', 'json']);
    if (r.code !== 0) throw new Error(r.stderr);
    const seed = parseEtcdctlJson(r.stdout).filter(
      (kv) =>
        kv.value.subarray(0, 4).toString('latin1') === 'k8s\0' ||
        kv.value[0] === 0x7b ||
        kv.value[0] === 0xd9,
    );
    const tls = h.etcd.clientTls!;
    const client = EtcdClient.withMaterial(
      h.etcd.endpoints[0]!,
      { ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key) },
      10000,
      30000,
    );
    try {
      let n = seed.length;
      let copy = 0;
      while (n < target) {
        copy++;
        const batch: Promise<unknown>[] = [];
        for (const kv of seed) {
          if (n >= target) break;
          // Same value under a key of another (fictional) namespace: decoding cost is that of real objects.
          batch.push(client.put(`${kv.key}-bench-${copy}`, kv.value));
          n++;
          if (batch.length >= 200) await Promise.all(batch.splice(0));
        }
        await Promise.all(batch);
      }
    } finally {
      client.close();
    }
    const file = join(dir, 'kube.db');
    const s = await etcdctl(h, ['snapshot', 'save', file], { timeoutMs: 600000 });
    if (s.code !== 0) throw new Error(s.stderr);
    return file;
  } finally {
    await h.stop();
  }
}

async function main(): Promise<void> {
  const decodeFile = flag('--decode');
  const threadsFlag = flag('--threads');
  if (decodeFile)
    return decodeAll(
      decodeFile,
      threadsFlag === undefined ? undefined : Number(threadsFlag),
      args.includes('--reader-helper'),
    );
  const smoke = args.includes('--smoke');
  const threads = threadsFlag === undefined ? undefined : Number(threadsFlag);
  const runs = Number(flag('--runs') ?? (smoke ? 1 : 5));
  const keep = flag('--keep');
  const dir = keep ?? mkdtempSync(join(tmpdir(), 'lifeboat-bench-kube-'));
  try {
    let file = flag('--fixture');
    if (!file) {
      process.stderr.write(`building fixture (${smoke ? '≈2,000' : '≥100,000'} objects)...\n`);
      file = await buildFixture(smoke ? 2000 : 100000, dir);
    }
    const bin = augerBinary();
    if ('path' in bin) process.stderr.write(`auger: ${bin.path}\n`);
    const augerRuns: { values: Timed[]; keys: Timed[] } = { values: [], keys: [] };
    type Run = {
      threads: number;
      readerHelper: boolean;
      objects: number;
      seconds: number;
      wallSeconds: number;
      rssKiB: number;
      cpuSeconds: number;
    };
    const results: Run[] = [];
    const dumps: Run[] = [];
    const lifeboatOnce = async (extra: string[], into: Run[]): Promise<void> => {
      const t = await timed(process.execPath, [process.argv[1]!, '--decode', file!, ...extra]);
      if (t.code !== 0) throw new Error(`decode run failed: ${t.stdout}`);
      const r = JSON.parse(t.stdout) as {
        objects: number;
        failed: number;
        seconds: number;
        threads: number;
        readByHelper: number;
      };
      if (r.failed > 0) throw new Error(`${r.failed} objects failed to decode`);
      into.push({
        threads: r.threads,
        readerHelper: r.readByHelper > 0,
        objects: r.objects,
        seconds: r.seconds,
        wallSeconds: t.wallSeconds,
        rssKiB: t.rssKiB,
        cpuSeconds: t.cpuSeconds,
      });
    };
    // Loaded here, not at the top: the measured `--decode` process loads only what decoding needs.
    const { lifeboatBin } = await import('../test/helpers/cli.js');
    const dumpArgv = [lifeboatBin(), 'dump', '--from', file, '--show-managed-fields', '--show-secrets'];
    const dumpOnce = async (): Promise<void> => {
      const t = await timed(dumpArgv[0]!, dumpArgv.slice(1), { countLines: true });
      if (t.code !== 0) throw new Error(`lifeboat dump failed (exit ${t.code}): ${t.stderr}`);
      // Its last line counts the objects printed; warnings before it name objects it could not show.
      const m = /: (\d+) objects under /.exec(t.stderr);
      if (!m || Number(m[1]) !== t.lines || /warning:/.test(t.stderr))
        throw new Error(`lifeboat dump printed ${t.lines} lines: ${t.stderr}`);
      dumps.push({
        threads: 0,
        readerHelper: false,
        objects: t.lines,
        seconds: t.wallSeconds,
        wallSeconds: t.wallSeconds,
        rssKiB: t.rssKiB,
        cpuSeconds: t.cpuSeconds,
      });
    };
    // Runs are interleaved (decode only, dump, auger values, auger keys) so that all see the same load.
    for (let i = 0; i < runs; i++) {
      await lifeboatOnce(
        [
          ...(threads === undefined ? [] : ['--threads', String(threads)]),
          ...(args.includes('--reader-helper') ? ['--reader-helper'] : []),
        ],
        results,
      );
      await dumpOnce();
      if ('path' in bin) {
        augerRuns.values.push(await augerOnce(bin.path, file, 'key,value'));
        augerRuns.keys.push(await augerOnce(bin.path, file, 'key'));
      }
    }
    const summary = (rs: Run[]) => {
      // Decode threads each run used, in run order (the default depends on the machine when it starts).
      const decodeThreadsUsed = rs.map((r) => r.threads);
      const readerHelperUsed = rs.map((r) => r.readerHelper);
      rs.sort((a, b) => a.wallSeconds - b.wallSeconds);
      const m = rs[Math.floor(rs.length / 2)]!;
      return {
        seconds: +m.seconds.toFixed(3),
        objectsPerSecond: Math.round(m.objects / m.seconds),
        wallSeconds: +m.wallSeconds.toFixed(3),
        objectsPerSecondWall: Math.round(m.objects / m.wallSeconds),
        peakRssMiB: +(Math.max(...rs.map((r) => r.rssKiB)) / 1024).toFixed(1),
        /** CPU seconds (all threads) of the median-wall run. */
        cpuSeconds: +m.cpuSeconds.toFixed(2),
        decodeThreadsUsed,
        readerHelperUsed,
      };
    };
    const lifeboat = {
      decodeThreads: threads ?? 'default (defaultThreads())',
      reader: args.includes('--reader-helper') ? 'helper thread' : 'default (readerHelperByDefault())',
      ...summary(results),
    };
    const med = results[Math.floor(results.length / 2)]!;
    const { decodeThreadsUsed: _t, readerHelperUsed: _r, ...dumpSummary } = summary(dumps);
    const lifeboatDump = { command: `lifeboat ${dumpArgv.slice(1).join(' ')}`, ...dumpSummary };
    let auger: Record<string, unknown>;
    let ratio: Record<string, number> | string;
    if ('path' in bin) {
      const values = augerSummary(file, 'key,value', augerRuns.values);
      const keys = augerSummary(file, 'key', augerRuns.keys);
      auger = { binary: bin.path, values, keys };
      ratio = {
        // Decode and print: lifeboat dump objects/s ÷ auger --fields=key,value objects/s (process wall time).
        dumpOverAugerValues: +(lifeboatDump.objectsPerSecondWall / values.objectsPerSecond).toFixed(2),
        // Decode only: the library pass ÷ auger --fields=key.
        decodeOverAugerKeys: +(lifeboat.objectsPerSecondWall / keys.objectsPerSecond).toFixed(2),
        // The same, counting only the objects each tool decoded: auger prints null for values it cannot
        // convert (seen in its value column; its key-only run fails on the same values, invisibly).
        // Lifeboat decodes every object (a failure stops the bench).
        decodedOnlyOverAugerKeys: +(
          lifeboat.objectsPerSecondWall /
          ((keys.objectsPerSecond * (med.objects - (values.undecodable ?? 0))) / med.objects)
        ).toFixed(2),
        peakRssDumpOverAugerValues: +(lifeboatDump.peakRssMiB / values.peakRssMiB).toFixed(2),
        peakRssDecodeOverAugerKeys: +(lifeboat.peakRssMiB / keys.peakRssMiB).toFixed(2),
      };
    } else {
      auger = bin;
      ratio = 'auger unavailable';
    }
    const report = {
      file,
      fileMiB: +(statSync(file).size / 2 ** 20).toFixed(1),
      objects: med.objects,
      lifeboatDecodeOnly: lifeboat,
      lifeboatDump,
      auger,
      ratio,
      runs,
    };
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
