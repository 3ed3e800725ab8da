/**
 * Backup benchmark: a single-member TLS etcd 3.6 filled with ~1 GiB (or 16 MiB with --smoke) of
 * Kubernetes-like values in the snapshot reader's fixture A shape (1,400 values of 700 KB and 100,000 small
 * keys per GiB), then, with wall time and CPU seconds (user+sys of the command's processes):
 *   1. etcdctl snapshot save
 *   2. lifeboat backup create → directory, age, --compress none
 *   3. … zstd level 1        4. … gzip (no target)
 *   5. lifeboat backup create → MinIO, zstd level 1
 *   6. etcdctl snapshot save, then an AWS SDK multipart upload of that file to MinIO
 * Targets (issue 5): (2) and (3) ≤ 1.3× (1); (5) ≤ 0.8× (6).
 *
 *   node dist/bench/backup.js [--smoke] [--mib N] [--runs N] [--no-gzip] [--pair-save] [--baseline ROOT]
 *
 * --baseline ROOT: every lifeboat case also runs ROOT/bin/lifeboat (another built checkout, e.g. before a
 * change), interleaved with this one against the same etcd, reported as "… [baseline]".
 */
import { spawnSync } from 'node:child_process';
import { closeSync, createReadStream, existsSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { compressor } from '../src/backup/compression.js';
import { encryptStream, generateIdentity } from '../src/backup/encryption.js';
import { inspectSnapshotFile } from '../src/backup/inspect.js';
import { SparseSpoolWriter } from '../src/backup/sparse-spool.js';
import type { PageHoles } from '../src/bbolt/sparse.js';
import { EtcdClient } from '../src/etcd-client/client.js';
import { Harness } from '../src/lab/harness.js';
import { Minio } from '../test/helpers/minio.js';
import { lifeboatBin } from '../test/helpers/cli.js';

const smoke = process.argv.includes('--smoke');
const argOf = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
/** Another checkout's root (built): each lifeboat case also runs its bin/lifeboat, interleaved, same etcd. */
const baselineRoot = argOf('--baseline');
/** Runs per case; the median wall time (and its run's CPU) is reported. */
const runs = Number(argOf('--runs') ?? 1);
const withGzip = !process.argv.includes('--no-gzip');
/**
 * Before every directory-repository run, run `etcdctl snapshot save` again and divide by that: on a shared
 * machine the load drifts over minutes, and a ratio of neighbouring runs is steadier than one of medians.
 */
const pairSave = process.argv.includes('--pair-save');
const mibArg = process.argv.indexOf('--mib');
const targetMiB = mibArg > 0 ? Number(process.argv[mibArg + 1]) : smoke ? 16 : 1024;

interface Measure {
  name: string;
  wallS: number;
  cpuS: number;
  bytes?: number;
  /** Wall time over the reference run measured right before it (--pair-save); the median is reported. */
  pairedRatio?: number;
}

/** Runs a command under sh and reads the children's user+sys time from `times`. */
function timed(name: string, cmd: string[], env: NodeJS.ProcessEnv = {}): Measure {
  const quoted = cmd.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const t0 = process.hrtime.bigint();
  const r = spawnSync(
    'sh',
    ['-c', `${quoted} >/dev/null 2>/tmp/lifeboat-bench-stderr; rc=$?; times; exit $rc`],
    {
      encoding: 'utf8',
      env: { ...process.env, ...env },
    },
  );
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0)
    throw new Error(
      `${name} failed (${r.status}): ${spawnSync('cat', ['/tmp/lifeboat-bench-stderr'], { encoding: 'utf8' }).stdout}`,
    );
  // `times` prints two lines: shell user/sys, then children user/sys, e.g. "0m1.234s 0m0.567s".
  const lines = r.stdout.trim().split('\n');
  const secs = (s: string) => {
    const m = /(\d+)m([\d.]+)s/.exec(s);
    return m ? Number(m[1]) * 60 + Number(m[2]) : 0;
  };
  const [u, s] = (lines[lines.length - 1] ?? '').split(/\s+/);
  return { name, wallS, cpuS: secs(u ?? '') + secs(s ?? '') };
}

function kubeLikeValue(i: number, size: number): Buffer {
  const base = `{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cm-${i}","namespace":"bench","uid":"${i.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000","labels":{"app":"bench","tier":"t${i % 7}"}},"data":{"payload":"`;
  const chunks: string[] = [base];
  let n = base.length;
  let x = i * 2654435761;
  while (n < size - 3) {
    x = (x * 1103515245 + 12345) >>> 0;
    const word = `k${(x % 5000).toString(36)}=${(x >>> 8).toString(36)};`;
    chunks.push(word);
    n += word.length;
  }
  chunks.push('"}}');
  return Buffer.from(chunks.join('')).subarray(0, size);
}

/** CPU and wall time of each pipeline stage over the file, one stage at a time. */
async function stageCosts(file: string): Promise<Measure[]> {
  const out: Measure[] = [];
  const id = await generateIdentity();
  const drain = async (r: Readable) => {
    for await (const _ of r as AsyncIterable<Buffer>) void _;
  };
  const read = () => createReadStream(file, { highWaterMark: 1 << 20 });
  const sparse = join(dirname(file), 'sparse-spool.db');
  let holes: PageHoles | undefined;
  const stages: [string, () => Promise<unknown>][] = [
    ['read file', () => drain(read())],
    [
      'sha256',
      async () => {
        const h = createHash('sha256');
        for await (const c of read() as AsyncIterable<Buffer>) h.update(c);
      },
    ],
    ['zstd level 1', () => drain(read().pipe(compressor('zstd', 1)))],
    ['gzip', () => drain(read().pipe(compressor('gzip')))],
    ['age encrypt (native)', () => drain(encryptStream(read(), [id.recipient]))],
    [
      'sparse spool write (1 MiB batches)',
      async () => {
        const fd = openSync(sparse, 'wx', 0o600);
        try {
          const w = new SparseSpoolWriter(fd);
          for await (const c of read() as AsyncIterable<Buffer>) w.write(c);
          holes = w.finish();
        } finally {
          closeSync(fd);
        }
      },
    ],
    ['structure + hashKV + summary (full file)', async () => inspectSnapshotFile(file)],
    [
      'structure + hashKV + summary (sparse spool)',
      async () => inspectSnapshotFile(sparse, undefined, holes),
    ],
  ];
  try {
    for (const [name, fn] of stages) {
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      await fn();
      const c = process.cpuUsage(c0);
      out.push({ name, wallS: Number(process.hrtime.bigint() - t0) / 1e9, cpuS: (c.user + c.system) / 1e6 });
    }
  } finally {
    rmSync(sparse, { force: true });
  }
  return out;
}

async function main(): Promise<void> {
  const h = await Harness.start({ etcdMembers: 1, etcdArgs: ['--quota-backend-bytes=8589934592'] });
  const minio = await Minio.start();
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-bench-'));
  const spoolDir = existsSync('/dev/shm') ? mkdtempSync('/dev/shm/lifeboat-bench-spool-') : dir;
  const results: Measure[] = [];
  let stages: Measure[] | undefined;
  try {
    const t = h.etcd.clientTls!;
    const c = EtcdClient.forEndpoint(h.etcd.endpoints[0]!, {
      tls: t,
      dialTimeoutMs: 5000,
      commandTimeoutMs: 60_000,
    });
    // The snapshot reader issue's fixture A shape: 1,400 values of 700 KB and 100,000 small keys per GiB.
    const valueSize = 700 * 1000;
    const count = Math.ceil((1400 * targetMiB) / 1024);
    const small = Math.ceil((100_000 * targetMiB) / 1024);
    const fillStart = Date.now();
    const parallel = async (n: number, width: number, fn: (i: number) => Promise<unknown>) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: width }, async () => {
          while (next < n) await fn(next++);
        }),
      );
    };
    await parallel(count, 4, (i) => c.put(`/registry/configmaps/bench/cm-${i}`, kubeLikeValue(i, valueSize)));
    await parallel(small, 32, (i) =>
      c.put(`/registry/pods/ns-${i % 100}/pod-${i}`, kubeLikeValue(count + i, 200 + (i % 300))),
    );
    const st = await c.status();
    c.close();
    // The fill leaves about a GiB of etcd's writes in the page cache; the kernel would write it back while the
    // first cases run and bill them for the disk. Write it back now, before anything is timed.
    spawnSync('sync');
    process.stderr.write(
      `filled ${count} values and ${small} small keys in ${((Date.now() - fillStart) / 1000).toFixed(1)} s; db ${st.dbSize} bytes\n`,
    );
    await minio.createBucket('bench');
    const env = minio.env();
    const conn = ['--endpoints', h.etcd.endpoints[0]!, '--cacert', t.ca, '--cert', t.cert, '--key', t.key];
    const bins: [string, string][] = [['', lifeboatBin()]];
    if (baselineRoot) bins.push([' [baseline]', join(baselineRoot, 'bin', 'lifeboat')]);
    const keygen = spawnSync(lifeboatBin(), ['backup', 'keygen', '--out', join(dir, 'id.key')]);
    if (keygen.status !== 0) throw new Error('keygen failed');
    const etcdctl = h.etcd.binaries.etcdctl;

    const saveOnce = (): Measure => {
      rmSync(join(dir, 'save.db'), { force: true });
      return timed('etcdctl snapshot save', [etcdctl, ...conn, 'snapshot', 'save', join(dir, 'save.db')]);
    };
    const saves: Measure[] = [];
    for (let r = 0; r < runs; r++) saves.push(saveOnce());
    const save = saves.sort((x, y) => x.wallS - y.wallS)[Math.floor((runs - 1) / 2)]!;
    save.bytes = statSync(join(dir, 'save.db')).size;
    results.push(save);
    const once = (name: string, bin: string, repo: string, compress: string, level?: string) =>
      timed(
        name,
        [
          bin,
          'backup',
          'create',
          ...conn,
          '--repo',
          repo,
          '--encryption-identity',
          join(dir, 'id.key'),
          '--compress',
          compress,
          ...(level ? ['--compress-level', level] : []),
          '--no-discover',
          // The harness's etcd keeps its data under tmpdir(): a spool there is refused as sharing etcd's
          // filesystem, so the spool goes to another filesystem (tmpfs when there is one).
          ...(name.includes('--no-spool') ? ['--no-spool'] : ['--spool-dir', spoolDir]),
        ],
        env,
      );
    /** Each binary `runs` times, interleaved; the run with the median wall time per binary. */
    const create = (name: string, repo: (tag: string) => string, compress: string, level?: string): void => {
      const all = new Map<string, Measure[]>(bins.map(([suffix]) => [suffix, []]));
      for (let r = 0; r < runs; r++) {
        for (const [suffix, bin] of bins) {
          const at = repo(`${suffix ? 'b' : 'a'}${r}`);
          const local = !at.startsWith('s3://');
          const ref = pairSave && local ? saveOnce() : undefined;
          const m = once(`${name}${suffix}`, bin, at, compress, level);
          if (ref) m.pairedRatio = m.wallS / ref.wallS;
          // A directory repository holds a whole (encrypted) db per run: free the disk for the next.
          if (!at.startsWith('s3://')) rmSync(at, { recursive: true, force: true });
          const paired = ref
            ? `\t(save before it: ${ref.wallS.toFixed(2)} s, ratio ${m.pairedRatio!.toFixed(2)})`
            : '';
          process.stderr.write(`${m.name}\t${m.wallS.toFixed(2)} s\t${m.cpuS.toFixed(2)} CPU s${paired}\n`);
          all.get(suffix)!.push(m);
        }
      }
      for (const ms of all.values()) {
        const ratios = ms.map((m) => m.pairedRatio ?? NaN).sort((x, y) => x - y);
        ms.sort((x, y) => x.wallS - y.wallS);
        const med = ms[Math.floor((ms.length - 1) / 2)]!;
        if (pairSave && !Number.isNaN(ratios[0]!))
          med.pairedRatio = ratios[Math.floor((ratios.length - 1) / 2)]!;
        results.push(med);
      }
    };
    create('lifeboat → dir, age, none', (t) => join(dir, `repo-none-${t}`), 'none');
    create('lifeboat → dir, age, zstd 1', (t) => join(dir, `repo-zstd-${t}`), 'zstd', '1');
    if (withGzip) create('lifeboat → dir, age, gzip', (t) => join(dir, `repo-gzip-${t}`), 'gzip');
    create('lifeboat → dir, age, zstd 1, --no-spool', (t) => join(dir, `repo-nospool-${t}`), 'zstd', '1');
    stages = await stageCosts(join(dir, 'save.db'));
    create('lifeboat → MinIO, age, zstd 1', (t) => minio.repoUrl('bench', `lb-${t}`), 'zstd', '1');

    // Baseline for S3: save, then an SDK upload of the file (CPU of this process for the upload part).
    const save2 = timed('etcdctl snapshot save (for S3)', [
      etcdctl,
      ...conn,
      'snapshot',
      'save',
      join(dir, 'save2.db'),
    ]);
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const s3 = new S3Client({
      endpoint: minio.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: minio.accessKey, secretAccessKey: minio.secretKey },
    });
    await new Upload({
      client: s3,
      params: { Bucket: 'bench', Key: 'baseline/save.db', Body: createReadStream(join(dir, 'save2.db')) },
      partSize: 8 * 1024 * 1024,
      queueSize: 2,
    }).done();
    s3.destroy();
    const cpu = process.cpuUsage(cpu0);
    results.push({
      name: 'save + SDK upload',
      wallS: save2.wallS + Number(process.hrtime.bigint() - t0) / 1e9,
      cpuS: save2.cpuS + (cpu.user + cpu.system) / 1e6,
    });
  } finally {
    await minio.stop();
    await h.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(spoolDir, { recursive: true, force: true });
  }
  const base = results[0]!;
  const s3base = results[results.length - 1]!;
  process.stdout.write(`backup bench (${smoke ? 'smoke, ' : ''}${targetMiB} MiB target db)\n`);
  process.stdout.write(
    `stage\twall s\tCPU s\twall ratio${pairSave ? '\tmedian ratio to the save run before' : ''}\n`,
  );
  for (const r of results) {
    const ref = r.name.includes('MinIO') ? s3base : base;
    process.stdout.write(
      `${r.name}\t${r.wallS.toFixed(2)}\t${r.cpuS.toFixed(2)}\t${(r.wallS / ref.wallS).toFixed(2)}${r.pairedRatio !== undefined ? `\t${r.pairedRatio.toFixed(2)}` : ''}\n`,
    );
  }
  process.stdout.write(
    'stage costs on the saved snapshot (in-process, one pass each)\nstage\twall s\tCPU s\n',
  );
  for (const st of stages)
    process.stdout.write(`${st.name}\t${st.wallS.toFixed(2)}\t${st.cpuS.toFixed(2)}\n`);
  const ratio = (n: string, ref: Measure) => {
    const r = results.find((x) => x.name === n);
    return r ? (r.wallS / ref.wallS).toFixed(2) : '-';
  };
  for (const suffix of baselineRoot ? ['', ' [baseline]'] : ['']) {
    process.stdout.write(
      `ratios${suffix}: none/save ${ratio(`lifeboat → dir, age, none${suffix}`, base)} (target ≤ 1.3), zstd1/save ${ratio(`lifeboat → dir, age, zstd 1${suffix}`, base)} (target ≤ 1.3), gzip/save ${ratio(`lifeboat → dir, age, gzip${suffix}`, base)} (no target), no-spool/save ${ratio(`lifeboat → dir, age, zstd 1, --no-spool${suffix}`, base)}, minio/(save+upload) ${ratio(`lifeboat → MinIO, age, zstd 1${suffix}`, s3base)} (target ≤ 0.8)\n`,
    );
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
