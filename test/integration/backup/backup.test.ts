/**
 * Backups end to end on a 3-member TLS etcd (3.6) from the harness, through the real CLI: to a directory
 * repository and to a real MinIO; download; `etcdutl snapshot restore` of the download boots an etcd with
 * the same keys; `age -d` decrypts a stored object; tampering (flipped byte, dropped last chunk, swapped
 * chunks) makes download and verify fail with no output file; a wrong identity is refused; with
 * `--compress none` the encrypted repository does not contain a repeated random value; delete/prune/gc.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { EtcdClient } from '../../../src/etcd-client/client.js';
import { allocateBlock } from '../../../src/lab/address-block.js';
import { Harness } from '../../../src/lab/harness.js';
import { ManagedProcess } from '../../../src/lab/process.js';
import { FileRepository } from '../../../src/stores/file.js';
import { runCli, type CliResult } from '../../helpers/cli.js';
import { Minio } from '../../helpers/minio.js';

let h: Harness;
let dir: string;
let conn: string[];
const secret = randomBytes(64);
const KEYS = 300;

before(async () => {
  h = await Harness.start({ etcdMembers: 3 });
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-backup-it-'));
  const t = h.etcd.clientTls!;
  conn = ['--endpoints', h.etcd.endpoints[0]!, '--cacert', t.ca, '--cert', t.cert, '--key', t.key];
  const c = EtcdClient.forEndpoint(h.etcd.endpoints[0]!, {
    tls: t,
    dialTimeoutMs: 5000,
    commandTimeoutMs: 5000,
  });
  try {
    for (let i = 0; i < KEYS; i++) {
      // Every 10th value carries the secret 3 times: a repeated 64-byte random value.
      const v =
        i % 10 === 0
          ? Buffer.concat([secret, secret, secret])
          : Buffer.from(`value-${i}-${'x'.repeat(2000)}`);
      await c.put(`/registry/things/k${String(i).padStart(4, '0')}`, v);
    }
  } finally {
    c.close();
  }
  const k = await lb(['backup', 'keygen', '--out', join(dir, 'id.key')]);
  assert.equal(k.code, 0, k.stderr);
  const k2 = await lb(['backup', 'keygen', '--out', join(dir, 'other.key')]);
  assert.equal(k2.code, 0, k2.stderr);
});

after(async () => {
  await h?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function lb(args: string[], env?: NodeJS.ProcessEnv): Promise<CliResult> {
  return runCli(args, { timeoutMs: 120_000, env: { ...process.env, ...env } });
}

async function create(repo: string, compress: string, env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await lb(
    [
      'backup',
      'create',
      ...conn,
      '--repo',
      repo,
      '--encryption-identity',
      join(dir, 'id.key'),
      '--compress',
      compress,
      // Not the filesystem of the harness's etcd data dirs (tmpdir), so the structure check runs.
      '--spool-dir',
      '/dev/shm',
    ],
    env,
  );
  assert.equal(r.code, 0, r.stderr);
  const id = r.stdout.trim();
  assert.match(id, /^\d{8}T\d{6}Z-[0-9a-f]{8}$/);
  return id;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Restores `snap` with etcdutl into a fresh etcd and returns the number of /registry/things keys. */
async function restoreAndCount(snap: string): Promise<number> {
  const bins = h.etcd.binaries;
  const block = allocateBlock('harness');
  const ip = block.host(60);
  const rdir = mkdtempSync(join(tmpdir(), 'lifeboat-restore-'));
  const peer = `http://${ip}:2380`;
  const client = `http://${ip}:2379`;
  let proc: ManagedProcess | undefined;
  try {
    const r = spawnSync(
      bins.etcdutl!,
      [
        'snapshot',
        'restore',
        snap,
        '--name',
        'r1',
        '--data-dir',
        join(rdir, 'data'),
        '--initial-cluster',
        `r1=${peer}`,
        '--initial-advertise-peer-urls',
        peer,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    proc = ManagedProcess.start({
      name: 'etcd restored',
      command: bins.etcd,
      args: [
        '--name=r1',
        `--data-dir=${join(rdir, 'data')}`,
        `--listen-client-urls=${client}`,
        `--advertise-client-urls=${client}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=r1=${peer}`,
      ],
      logFile: join(rdir, 'etcd.log'),
    });
    const c = EtcdClient.forEndpoint(client, { tls: {}, dialTimeoutMs: 15_000, commandTimeoutMs: 5000 });
    try {
      const res = await c.range('/registry/things/', { rangeEnd: '/registry/things0', countOnly: true });
      const one = await c.range('/registry/things/k0010');
      assert.ok(one.kvs[0]!.value.equals(Buffer.concat([secret, secret, secret])));
      return Number(res.count);
    } finally {
      c.close();
    }
  } finally {
    await proc?.stop('SIGKILL');
    block.release();
    rmSync(rdir, { recursive: true, force: true });
  }
}

test('backup to a directory (zstd + age): list, show, download, etcdutl restore boots with the same keys', async () => {
  const repo = join(dir, 'repo-file');
  const id = await create(repo, 'zstd');
  const list = await lb(['backup', 'list', '--repo', repo, '-o', 'json']);
  assert.equal(list.code, 0, list.stderr);
  const manifests = JSON.parse(list.stdout) as Array<Record<string, unknown>>;
  assert.equal(manifests.length, 1);
  const m = manifests[0]! as {
    apiVersion: string;
    kind: string;
    id: string;
    cluster: { name: string; etcdClusterId: string };
    source: { memberId: string; memberName: string; reason: string; raftAppliedIndex: number };
    structureChecked: boolean;
    revision: number;
    liveKeys: number;
    hashKV: number;
    contents: { objectsPerResource: Record<string, number> };
    artifacts: Array<{
      object: string;
      size: number;
      storedSize: number;
      sha256: string;
      compression: string;
      encryption: { format: string; recipientFingerprints: string[] };
    }>;
  };
  assert.equal(m.apiVersion, 'lifeboat/v1alpha1');
  assert.equal(m.kind, 'Backup');
  assert.equal(m.id, id);
  assert.match(m.cluster.etcdClusterId, /^[0-9a-f]+$/);
  assert.equal(m.cluster.name, m.cluster.etcdClusterId);
  assert.match(m.source.reason, /follower|leader/);
  assert.ok(m.source.raftAppliedIndex > KEYS);
  assert.equal(m.structureChecked, true);
  assert.equal(m.liveKeys, KEYS);
  assert.equal(m.contents.objectsPerResource.things, KEYS);
  assert.equal(typeof m.hashKV, 'number');
  const a = m.artifacts[0]!;
  assert.equal(a.compression, 'zstd');
  assert.equal(a.encryption.format, 'age-v1');
  assert.equal(a.encryption.recipientFingerprints.length, 1);
  assert.ok(a.storedSize < a.size / 2, `zstd stored ${a.storedSize} of ${a.size}`);
  assert.equal(statSync(join(repo, ...a.object.split('/'))).size, a.storedSize);

  const out = join(dir, 'download-file.db');
  const dl = await lb([
    'backup',
    'download',
    id,
    '--repo',
    repo,
    '--encryption-identity',
    join(dir, 'id.key'),
    '--out',
    out,
  ]);
  assert.equal(dl.code, 0, dl.stderr);
  assert.equal(statSync(out).mode & 0o777, 0o600);
  const bytes = readFileSync(out);
  assert.equal(bytes.length, a.size);
  assert.equal(sha256(bytes), a.sha256);
  // The trailer is intact: etcd's sha256 of everything before it.
  assert.equal(
    sha256(bytes.subarray(0, bytes.length - 32)),
    bytes.subarray(bytes.length - 32).toString('hex'),
  );
  assert.equal(await restoreAndCount(out), KEYS);
  const st = JSON.parse(
    execFileSync(h.etcd.binaries.etcdutl!, ['snapshot', 'status', out, '-w', 'json'], { encoding: 'utf8' }),
  ) as { revision: number };
  assert.equal(m.revision, st.revision);

  // age -d with the identity decrypts the stored object; zstd -d gives the same snapshot.
  const plain = execFileSync(
    'sh',
    ['-c', `age -d -i "$1" "$2" | zstd -d -c`, 'sh', join(dir, 'id.key'), join(repo, ...a.object.split('/'))],
    {
      maxBuffer: 1 << 30,
    },
  );
  assert.equal(sha256(plain), a.sha256);

  const v = await lb(['backup', 'verify', id, '--repo', repo, '--encryption-identity', join(dir, 'id.key')]);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /ok/);
  const rt = await lb([
    'backup',
    'verify',
    id,
    '--repo',
    repo,
    '--encryption-identity',
    join(dir, 'id.key'),
    '--restore-test',
    '-o',
    'json',
  ]);
  assert.equal(rt.code, 0, rt.stderr);
  const report = JSON.parse(rt.stdout) as {
    restoreTest: { revision: number; liveKeys: number; hashKV: number };
  };
  assert.equal(report.restoreTest.revision, m.revision);
  assert.equal(report.restoreTest.liveKeys, KEYS);
  assert.equal(report.restoreTest.hashKV, m.hashKV);
});

test('with --compress none the encrypted repository does not contain the repeated random value', async () => {
  const repo = join(dir, 'repo-plain-check');
  const id = await create(repo, 'none');
  const files = execFileSync('find', [repo, '-type', 'f'], { encoding: 'utf8' }).trim().split('\n');
  assert.ok(files.length >= 2);
  for (const f of files) {
    const b = readFileSync(f);
    assert.equal(b.indexOf(secret), -1, `${f} contains the plaintext value`);
    assert.equal(b.indexOf(secret.subarray(0, 16)), -1, `${f} contains part of the plaintext value`);
  }
  // The plaintext is really in the snapshot: the download contains it.
  const out = join(dir, 'plain-check.db');
  const dl = await lb([
    'backup',
    'download',
    id,
    '--repo',
    repo,
    '--encryption-identity',
    join(dir, 'id.key'),
    '--out',
    out,
  ]);
  assert.equal(dl.code, 0, dl.stderr);
  assert.notEqual(readFileSync(out).indexOf(secret), -1);
});

test('tampering: flipped byte, dropped last chunk, swapped chunks make download and verify fail; wrong identity is refused', async () => {
  const repo = join(dir, 'repo-tamper');
  const id = await create(repo, 'none');
  const obj = readdirSync(join(repo, 'data', id))[0]!;
  const data = readFileSync(join(repo, 'data', id, obj));
  // age v1: text header ending with the "--- <mac>" line, then a 16-byte nonce, then 64 KiB + 16 chunks.
  const headerEnd = data.indexOf('\n---') + 1;
  const payloadStart = data.indexOf('\n', headerEnd) + 1 + 16;
  const CH = 65536 + 16;
  const chunks = Math.ceil((data.length - payloadStart) / CH);
  assert.ok(chunks >= 3, `need ≥ 3 chunks, have ${chunks}`);
  const variants: Record<string, Buffer> = {
    flipped: (() => {
      const b = Buffer.from(data);
      b[payloadStart + CH + 100]! ^= 0x40;
      return b;
    })(),
    'dropped last chunk': data.subarray(0, payloadStart + (chunks - 1) * CH),
    'swapped chunks': Buffer.concat([
      data.subarray(0, payloadStart),
      data.subarray(payloadStart + CH, payloadStart + 2 * CH),
      data.subarray(payloadStart, payloadStart + CH),
      data.subarray(payloadStart + 2 * CH),
    ]),
  };
  for (const [name, bytes] of Object.entries(variants)) {
    const copy = join(dir, `repo-tamper-${name.replace(/ /g, '-')}`);
    cpSync(repo, copy, { recursive: true });
    writeFileSync(join(copy, 'data', id, obj), bytes);
    const out = join(dir, `tampered-${name.replace(/ /g, '-')}.db`);
    const dl = await lb([
      'backup',
      'download',
      id,
      '--repo',
      copy,
      '--encryption-identity',
      join(dir, 'id.key'),
      '--out',
      out,
    ]);
    assert.equal(dl.code, 3, `${name}: download exit ${dl.code}: ${dl.stderr}`);
    assert.match(dl.stderr, /^lifeboat: error: .*(authentication|differs|truncated)/m, name);
    assert.equal(dl.stderr.trim().split('\n').length, 1, `${name}: one line: ${dl.stderr}`);
    assert.equal(existsSync(out), false, `${name}: no output file`);
    assert.equal(existsSync(`${out}.part`), false, `${name}: no .part file`);
    const v = await lb([
      'backup',
      'verify',
      id,
      '--repo',
      copy,
      '--encryption-identity',
      join(dir, 'id.key'),
    ]);
    assert.equal(v.code, 3, `${name}: verify exit ${v.code}: ${v.stderr}`);
  }
  const out = join(dir, 'wrong-identity.db');
  const w = await lb([
    'backup',
    'download',
    id,
    '--repo',
    repo,
    '--encryption-identity',
    join(dir, 'other.key'),
    '--out',
    out,
  ]);
  assert.equal(w.code, 5, w.stderr);
  assert.match(w.stderr, /not among the backup's recipients/);
  assert.equal(existsSync(out), false);
  const none = await lb(['backup', 'download', id, '--repo', repo, '--out', out]);
  assert.equal(none.code, 5, none.stderr);
  assert.match(none.stderr, /encrypted; pass --encryption-identity/);
  assert.equal(existsSync(out), false);
});

test('connection errors are one clear line with exit 5', async () => {
  const t = h.etcd.clientTls!;
  const repo = join(dir, 'repo-errors');
  const base = [
    'backup',
    'create',
    '--repo',
    repo,
    '--encryption-identity',
    join(dir, 'id.key'),
    '--dial-timeout',
    '2s',
    '--no-discover',
  ];
  const cases: [string, string[], RegExp][] = [
    [
      'unreachable',
      ['--endpoints', 'https://127.0.0.1:1', '--cacert', t.ca, '--cert', t.cert, '--key', t.key],
      /unreachable/,
    ],
    [
      'wrong CA',
      [
        '--endpoints',
        h.etcd.endpoints[0]!,
        '--cacert',
        '/etc/ssl/certs/ca-certificates.crt',
        '--cert',
        t.cert,
        '--key',
        t.key,
      ],
      /not trusted.*wrong --cacert/,
    ],
    ['no client cert', ['--endpoints', h.etcd.endpoints[0]!, '--cacert', t.ca], /client certificate refused/],
  ];
  for (const [name, args, re] of cases) {
    const r = await lb([...base, ...args]);
    assert.equal(r.code, 5, `${name}: ${r.stderr}`);
    assert.match(r.stderr, re, name);
    assert.equal(r.stderr.trim().split('\n').length, 1, `${name}: ${r.stderr}`);
  }
  assert.deepEqual(existsSync(join(repo, 'manifests')) ? readdirSync(join(repo, 'manifests')) : [], []);
});

test('delete, prune and gc on a directory repository', async () => {
  const repo = join(dir, 'repo-prune');
  const ids = [await create(repo, 'gzip'), await create(repo, 'zstd')];
  await new Promise((r) => setTimeout(r, 1100));
  ids.push(await create(repo, 'zstd'));
  const dry = await lb(['backup', 'prune', '--repo', repo, '--keep-last', '1', '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.equal(
    (dry.stdout.match(/would remove/g) ?? []).length,
    2,
    `${ids.join(' ')}\n${dry.stdout}${dry.stderr}`,
  );
  const pr = await lb(['backup', 'prune', '--repo', repo, '--keep-last', '1', '-o', 'json']);
  assert.equal(pr.code, 0, pr.stderr);
  const list = JSON.parse((await lb(['backup', 'list', '--repo', repo, '-o', 'json'])).stdout) as {
    id: string;
  }[];
  assert.deepEqual(
    list.map((m) => m.id),
    [ids[2]],
    `${ids.join(' ')}\n${pr.stdout}${pr.stderr}`,
  );
  assert.deepEqual(readdirSync(join(repo, 'data')), [ids[2]]);

  // Orphaned data: an old one goes, a fresh one stays within the grace period.
  const r = await FileRepository.open(repo);
  await r.put('data/20200101T000000Z-deadbeef/etcd-snapshot.db.age', Buffer.from('orphan'));
  const oldTime = new Date('2020-01-01T00:00:00Z');
  const { utimesSync } = await import('node:fs');
  utimesSync(join(repo, 'data', '20200101T000000Z-deadbeef', 'etcd-snapshot.db.age'), oldTime, oldTime);
  const freshId = `${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}Z-0badc0de`;
  await r.put(`data/${freshId}/etcd-snapshot.db.age`, Buffer.from('in progress'));
  const gc = await lb(['backup', 'gc', '--repo', repo, '--grace', '1h']);
  assert.equal(gc.code, 0, gc.stderr);
  assert.match(gc.stdout, /removed\t20200101T000000Z-deadbeef/);
  assert.match(gc.stdout, new RegExp(`within grace\t${freshId}`));
  assert.deepEqual(readdirSync(join(repo, 'data')).sort(), [ids[2], freshId].sort());

  const del = await lb(['backup', 'delete', ids[2]!, '--repo', repo]);
  assert.equal(del.code, 0, del.stderr);
  const missing = await lb(['backup', 'show', ids[2]!, '--repo', repo]);
  assert.equal(missing.code, 4, missing.stderr);
});

test('backup to MinIO: create, list, download, restore, verify; MinIO down is one clear line and lists nothing', async () => {
  const minio = await Minio.start();
  try {
    await minio.createBucket('backups');
    const repo = minio.repoUrl('backups', 'clusters/test');
    const env = minio.env();
    const id = await create(repo, 'zstd', env);
    const list = await lb(['backup', 'list', '--repo', repo, '-o', 'json'], env);
    assert.equal(list.code, 0, list.stderr);
    const ms = JSON.parse(list.stdout) as { id: string; artifacts: { sha256: string; object: string }[] }[];
    assert.deepEqual(
      ms.map((m) => m.id),
      [id],
    );
    const out = join(dir, 'download-minio.db');
    const dl = await lb(
      ['backup', 'download', id, '--repo', repo, '--encryption-identity', join(dir, 'id.key'), '--out', out],
      env,
    );
    assert.equal(dl.code, 0, dl.stderr);
    assert.equal(sha256(readFileSync(out)), ms[0]!.artifacts[0]!.sha256);
    assert.equal(await restoreAndCount(out), KEYS);
    const v = await lb(
      ['backup', 'verify', id, '--repo', repo, '--encryption-identity', join(dir, 'id.key')],
      env,
    );
    assert.equal(v.code, 0, v.stderr);
    // Repository down: a clear error and nothing listed afterwards for the failed run.
    await minio.kill();
    const failed = await lb(
      ['backup', 'create', ...conn, '--repo', repo, '--encryption-identity', join(dir, 'id.key')],
      env,
    );
    assert.equal(failed.code, 5, failed.stderr);
    assert.match(failed.stderr, /unreachable/);
    assert.equal(
      failed.stderr
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('lifeboat: error')).length,
      1,
    );
    await minio.launch();
    const after = JSON.parse((await lb(['backup', 'list', '--repo', repo, '-o', 'json'], env)).stdout) as {
      id: string;
    }[];
    assert.deepEqual(
      after.map((m) => m.id),
      [id],
    );
    await create(repo, 'zstd', env);
  } finally {
    await minio.stop();
  }
});
