/**
 * Benchmark of Lifeboat's Kubernetes object decoder (issue 4): decode every object of a snapshot into the
 * apiserver's JSON, objects/s and peak RSS (from /usr/bin/time), median of N runs.
 *
 * Fixture: a real kube-apiserver (harness, every feature gate on) gets the test corpus (65 kinds); the stored
 * values of those objects are then copied under new keys straight into etcd until the store holds ≥ 100,000
 * objects (`--smoke`: ≈ 2,000), and `etcdctl snapshot save` writes the file. `--fixture FILE` reuses one.
 *
 * auger (github.com/etcd-io/auger, the usual comparison) cannot be built here: the Go module proxy answers
 * 403 for it, so its column is reported as unavailable rather than measured.
 *
 * Run: npx tsc -p . && node dist/bench/kube-decode.js [--smoke] [--runs N] [--fixture FILE] [--keep DIR]
 *      node dist/bench/kube-decode.js --decode FILE     (one measured pass; prints {objects, seconds})
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdClient } from '../src/etcd-client/client.js';
import { prefixRangeEnd } from '../src/etcd/index.js';
import { decodeObject } from '../src/kube/decode.js';
import { Harness } from '../src/lab/harness.js';
import { openSnapshot } from '../src/snapshot/index.js';
import { stringifyJson } from '../src/util/json.js';
import { etcdctl } from '../test/helpers/etcdctl.js';
import { parseEtcdctlJson } from '../test/integration/kube/compare.js';
import { CORPUS_APISERVER_ARGS, createCorpus } from '../test/integration/kube/corpus.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

async function decodeAll(file: string): Promise<void> {
  const snap = await openSnapshot(file);
  const started = process.hrtime.bigint();
  let objects = 0;
  let bytes = 0;
  let failed = 0;
  try {
    const prefix = Buffer.from('/registry/');
    for (const kv of snap.db.mvcc.liveAt(0n, {
      key: prefix,
      rangeEnd: prefixRangeEnd(prefix),
      order: 'revision',
    })) {
      try {
        const d = decodeObject(kv.value!, { key: kv.key.toString('utf8'), modRevision: kv.modRevision });
        bytes += stringifyJson(d.object, 0).length;
        objects++;
      } catch {
        failed++;
      }
    }
  } finally {
    snap.close();
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(JSON.stringify({ objects, failed, seconds, jsonBytes: bytes }) + '\n');
}

function timed(cmd: string, argv: string[]): Promise<{ stdout: string; rssKiB: number; code: number }> {
  return new Promise((resolve) => {
    const child = spawn('/usr/bin/time', ['-f', '%M', cmd, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => {
      const lines = stderr.trim().split('\n');
      resolve({ stdout, rssKiB: Number(lines[lines.length - 1]), code: code ?? 1 });
    });
  });
}

async function buildFixture(target: number, dir: string): Promise<string> {
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
  if (decodeFile) return decodeAll(decodeFile);
  const smoke = args.includes('--smoke');
  const runs = Number(flag('--runs') ?? (smoke ? 1 : 5));
  const keep = flag('--keep');
  const dir = keep ?? mkdtempSync(join(tmpdir(), 'lifeboat-bench-kube-'));
  try {
    let file = flag('--fixture');
    if (!file) {
      process.stderr.write(`building fixture (${smoke ? '≈2,000' : '≥100,000'} objects)...\n`);
      file = await buildFixture(smoke ? 2000 : 100000, dir);
    }
    const results: { objects: number; seconds: number; rssKiB: number }[] = [];
    for (let i = 0; i < runs; i++) {
      const t = await timed(process.execPath, [process.argv[1]!, '--decode', file]);
      if (t.code !== 0) throw new Error(`decode run failed: ${t.stdout}`);
      const r = JSON.parse(t.stdout) as { objects: number; failed: number; seconds: number };
      if (r.failed > 0) throw new Error(`${r.failed} objects failed to decode`);
      results.push({ objects: r.objects, seconds: r.seconds, rssKiB: t.rssKiB });
    }
    results.sort((a, b) => a.seconds - b.seconds);
    const med = results[Math.floor(results.length / 2)]!;
    const report = {
      file,
      fileMiB: +(statSync(file).size / 2 ** 20).toFixed(1),
      objects: med.objects,
      lifeboat: {
        seconds: +med.seconds.toFixed(3),
        objectsPerSecond: Math.round(med.objects / med.seconds),
        peakRssMiB: +(Math.max(...results.map((r) => r.rssKiB)) / 1024).toFixed(1),
      },
      auger: { unavailable: 'github.com/etcd-io/auger cannot be fetched: the Go module proxy answers 403' },
      runs,
    };
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
