/**
 * Verified backups on a real TLS etcd: an empty etcd backs up with etcd's own numbers; a spool directory on
 * etcd's filesystem is refused with its reason in the log and the manifest, and `backup verify` computes
 * what such a manifest lacks into a write-once verification record; the scheduler restore-tests backups
 * (after each backup, and on its own slot) into a scratch real etcd, counts failures as
 * reason="restore_test", and /healthz judges only restore-tested backups; readers on a missing repository
 * exit 4.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readIdentityFile, recipientsOfIdentities } from '../../../src/backup/encryption.js';
import { readManifest } from '../../../src/backup/read.js';
import { Scheduler } from '../../../src/backup/schedule.js';
import { readVerifications } from '../../../src/backup/verify.js';
import { EtcdClient } from '../../../src/etcd-client/client.js';
import { resolveConnection } from '../../../src/etcd-client/flags.js';
import { Harness } from '../../../src/lab/harness.js';
import { httpGet } from '../../../src/lab/health.js';
import { FileRepository } from '../../../src/stores/file.js';
import { runCli, type CliResult } from '../../helpers/cli.js';

let h: Harness;
let dir: string;
let conn: string[];
/** A spool directory on another filesystem than the harness's etcd data dirs (tmpfs). */
const OTHER_FS = '/dev/shm';

before(async () => {
  h = await Harness.start({ etcdMembers: 1, etcdMinor: '3.6' });
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-verified-'));
  const t = h.etcd.clientTls!;
  conn = ['--endpoints', h.etcd.endpoints[0]!, '--cacert', t.ca, '--cert', t.cert, '--key', t.key];
  const k = await lb(['backup', 'keygen', '--out', join(dir, 'id.key')]);
  assert.equal(k.code, 0, k.stderr);
});

after(async () => {
  await h?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function lb(args: string[]): Promise<CliResult> {
  return runCli(args, { timeoutMs: 120_000 });
}

function client(): EtcdClient {
  const t = h.etcd.clientTls!;
  return EtcdClient.forEndpoint(h.etcd.endpoints[0]!, {
    tls: { ca: t.ca, cert: t.cert, key: t.key },
    dialTimeoutMs: 5000,
    commandTimeoutMs: 5000,
  });
}

interface ManifestJson {
  id: string;
  revision: number | null;
  compactRevision: number | null;
  liveKeys: number | null;
  hashKV: number | null;
  structureChecked: boolean;
  structureCheckSkipped: string | null;
  contents: { objectsPerResource: Record<string, number> } | null;
}

test('an empty etcd backs up with the revision, key count and hashKV etcd reports', async () => {
  const c = client();
  let st, hk;
  try {
    st = await c.status();
    hk = await c.hashKV(0n);
  } finally {
    c.close();
  }
  assert.equal(st.header.revision, 1n, 'a fresh etcd is at revision 1');
  const repo = join(dir, 'repo-empty');
  const r = await lb([
    'backup',
    'create',
    ...conn,
    '--repo',
    repo,
    '--encryption-identity',
    join(dir, 'id.key'),
    '--spool-dir',
    OTHER_FS,
    '-o',
    'json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const m = JSON.parse(r.stdout) as ManifestJson;
  assert.equal(m.structureChecked, true, r.stderr);
  assert.equal(m.structureCheckSkipped, null);
  assert.equal(m.revision, 1);
  assert.equal(m.liveKeys, 0);
  assert.equal(m.compactRevision, Number(hk.compactRevision), 'compactRevision as the member reports it');
  assert.equal(m.hashKV, hk.hash, "hashKV equals the member's HashKV");
  assert.deepEqual(m.contents, { objectsPerResource: {} });
  // And it restores: the scratch etcd is at revision 1 with no keys.
  const v = await lb([
    'backup',
    'verify',
    m.id,
    '--repo',
    repo,
    '--encryption-identity',
    join(dir, 'id.key'),
    '--restore-test',
    '-o',
    'json',
  ]);
  assert.equal(v.code, 0, v.stderr);
  const rep = JSON.parse(v.stdout) as { restoreTest: { revision: number; liveKeys: number } };
  assert.equal(rep.restoreTest.revision, 1);
  assert.equal(rep.restoreTest.liveKeys, 0);
});

test("a spool on etcd's filesystem is refused with the reason in log and manifest; verify fills in the rest", async () => {
  const c = client();
  try {
    for (let i = 0; i < 20; i++)
      await c.put(Buffer.from(`/registry/configmaps/default/cm-${i}`), Buffer.from('x'));
  } finally {
    c.close();
  }
  const repo = join(dir, 'repo-samefs');
  // h.dir holds the etcd data dir: same filesystem.
  const r = await lb([
    'backup',
    'create',
    ...conn,
    '--repo',
    repo,
    '--encryption-identity',
    join(dir, 'id.key'),
    '--spool-dir',
    h.dir,
    '-o',
    'json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /same filesystem as the data dir .* of the etcd \(pid \d+\)/);
  const m = JSON.parse(r.stdout) as ManifestJson;
  assert.equal(m.structureChecked, false);
  assert.equal(m.contents, null);
  assert.equal(m.revision, null);
  assert.match(m.structureCheckSkipped ?? '', /same filesystem/);

  const c2 = client();
  let st, hk;
  try {
    st = await c2.status();
    hk = await c2.hashKV(st.header.revision);
  } finally {
    c2.close();
  }
  // The restore test compares the restored etcd with what verify computed (the manifest has no numbers).
  const v = await lb([
    'backup',
    'verify',
    m.id,
    '--repo',
    repo,
    '--encryption-identity',
    join(dir, 'id.key'),
    '--restore-test',
  ]);
  assert.equal(v.code, 0, v.stderr);
  assert.match(
    v.stdout,
    new RegExp(
      `computed what the manifest lacks: revision ${st.header.revision}, compactRevision -?\\d+, liveKeys 20, hashKV ${hk.hash}, contents configmaps=20`,
    ),
  );
  // The manifest stays as written; the record holds what verify learnt.
  const frepo = await FileRepository.open(repo);
  const again = await readManifest(frepo, m.id);
  assert.equal(again.structureChecked, false);
  const recs = await readVerifications(frepo, m.id);
  assert.equal(recs.length, 1);
  assert.equal(recs[0]!.result, 'passed');
  assert.equal(recs[0]!.revision, st.header.revision);
  assert.equal(recs[0]!.liveKeys, 20n);
  assert.deepEqual(recs[0]!.filledIn, ['revision', 'compactRevision', 'liveKeys', 'hashKV', 'contents']);
  assert.deepEqual(recs[0]!.contents, { objectsPerResource: { configmaps: 20 } });
  assert.equal(recs[0]!.restoreTested, true);
  assert.equal(recs[0]!.restoreTest?.revision, st.header.revision);
  assert.equal(recs[0]!.restoreTest?.hashKV, hk.hash);
});

test('a spool directory with less than 1.1× the db size free: the reason in log and manifest', async () => {
  // A 4 KiB tmpfs (needs root, as the test machine has; fails loudly otherwise).
  const tiny = join(dir, 'tiny');
  mkdirSync(tiny);
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4k,mode=0700', 'tmpfs', tiny], {
    encoding: 'utf8',
  });
  assert.equal(mounted.status, 0, `mounting a tiny tmpfs for this test failed: ${mounted.stderr}`);
  try {
    const repo = join(dir, 'repo-tiny');
    const r = await lb([
      'backup',
      'create',
      ...conn,
      '--repo',
      repo,
      '--encryption-identity',
      join(dir, 'id.key'),
      '--spool-dir',
      tiny,
      '-o',
      'json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /spool directory .*tiny has \d+ bytes free, less than 1\.1× the db size \d+/);
    const m = JSON.parse(r.stdout) as ManifestJson;
    assert.equal(m.structureChecked, false);
    assert.equal(m.contents, null);
    assert.match(m.structureCheckSkipped ?? '', /bytes free, less than 1\.1× the db size/);
  } finally {
    spawnSync('umount', [tiny]);
  }
});

test('--no-spool records its reason in the manifest', async () => {
  const repo = join(dir, 'repo-nospool');
  const r = await lb([
    'backup',
    'create',
    ...conn,
    '--repo',
    repo,
    '--encryption-identity',
    join(dir, 'id.key'),
    '--no-spool',
    '-o',
    'json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const m = JSON.parse(r.stdout) as ManifestJson;
  assert.equal(m.structureChecked, false);
  assert.match(m.structureCheckSkipped ?? '', /--no-spool/);
});

test('readers on a repository directory that does not exist: one line, exit 4, nothing created', async () => {
  const missing = join(dir, 'no-such-repo');
  for (const args of [
    ['backup', 'list', '--repo', missing],
    ['backup', 'show', '20260101T000000Z-0000abcd', '--repo', `file://${missing}`],
    ['backup', 'prune', '--keep-last', '1', '--repo', missing],
  ]) {
    const r = await lb(args);
    assert.equal(r.code, 4, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr.trim(), new RegExp(`^[^\\n]*repository file://${missing} not found[^\\n]*$`));
    assert.throws(() => readdirSync(missing), /ENOENT/);
  }
});

test('the scheduler restore-tests backups, counts failures as restore_test, /healthz judges restore-tested backups', async () => {
  const repoDir = join(dir, 'repo-sched');
  const repo = await FileRepository.open(repoDir);
  const identities = readIdentityFile(join(dir, 'id.key'));
  const t = h.etcd.clientTls!;
  const create = {
    conn: resolveConnection({ endpoints: h.etcd.endpoints[0]!, cacert: t.ca, cert: t.cert, key: t.key }),
    repo,
    clusterName: 'rt',
    recipients: await recipientsOfIdentities(identities),
    compression: 'zstd' as const,
    spoolDir: OTHER_FS,
  };
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);
  // Cron slots far in the future: the test drives the slots itself.
  const never = '0 0 1 1 *';
  const after = new Scheduler(repo, {
    cron: never,
    create,
    listen: '127.0.0.1:0',
    maxAgeMs: 3_600_000,
    log,
    holder: 'after',
    restoreTest: { identities, spoolDir: OTHER_FS },
  });
  await after.start();
  try {
    const h0 = await httpGet(`http://${after.address()}/healthz`);
    assert.equal(h0.status, 503, 'no restore-tested backup yet');
    await after.run(new Date('2026-01-01T00:00:00Z'));
    const h1 = await httpGet(`http://${after.address()}/healthz`);
    assert.equal(h1.status, 200, `${h1.body}\n${lines.join('\n')}`);
    assert.match(h1.body, /restore-tested/);
    const metrics = (await httpGet(`http://${after.address()}/metrics`)).body;
    assert.match(metrics, /lifeboat_backup_restore_tests_total\{cluster="rt",result="passed"\} 1/);
    assert.match(metrics, /lifeboat_backup_failures_total\{cluster="rt",reason="restore_test"\} 0/);
  } finally {
    await after.stop();
  }
  const [first] = (await repo.list('manifests/')).map((o) => o.key);
  const firstId = first!.slice('manifests/'.length, -'.json'.length);
  const recs = await readVerifications(repo, firstId);
  assert.equal(recs.length, 1);
  assert.equal(recs[0]!.result, 'passed');
  assert.equal(recs[0]!.restoreTested, true);

  // A second scheduler restore-tests on its own slots; the backup it tests was damaged in the repository.
  const own = new Scheduler(repo, {
    cron: never,
    create,
    maxAgeMs: 3_600_000,
    log,
    holder: 'own',
    restoreTest: { identities, cron: never, spoolDir: OTHER_FS },
  });
  await own.start();
  try {
    await own.run(new Date('2026-01-01T01:00:00Z'));
    const ids = (await repo.list('manifests/')).map((o) => o.key.slice('manifests/'.length, -'.json'.length));
    assert.equal(ids.length, 2);
    const second = ids.find((x) => x !== firstId)!;
    assert.equal((await readVerifications(repo, second)).length, 0, 'no restore test right after the backup');
    // Newest verified is still the first backup: the second one is not restore-tested.
    const firstCreated = (await readManifest(repo, firstId)).created;
    assert.match(
      own.health().message,
      new RegExp(`newest restore-tested backup ${firstCreated.slice(0, 19)}`),
    );
    // Damage one byte of the stored object of the second backup.
    const dataDir = join(repoDir, 'data', second);
    const obj = join(dataDir, readdirSync(dataDir)[0]!);
    const bytes = readFileSync(obj);
    bytes[bytes.length >> 1]! ^= 0x01;
    writeFileSync(obj, bytes);
    await own.restoreSlot(new Date('2026-01-01T02:00:00Z'));
    const metrics = await own.registry.metrics();
    assert.match(metrics, /lifeboat_backup_failures_total\{cluster="rt",reason="restore_test"\} 1/);
    assert.match(metrics, /lifeboat_backup_restore_tests_total\{cluster="rt",result="failed"\} 1/);
    const failed = await readVerifications(repo, second);
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.result, 'failed');
    assert.match(failed[0]!.problem ?? '', /differs|authentic|corrupt|failed/i);
    // With a max age shorter than the first backup's age, /healthz turns unhealthy although a newer
    // (unverified) backup exists.
    assert.equal(own.health(new Date(firstCreated).getTime() + 3_600_000 - 60_000).ok, true);
    assert.equal(own.health(new Date(firstCreated).getTime() + 3_600_000 + 60_000).ok, false);
    // The slot lease makes a second restore test of the same slot a no-op.
    await own.restoreSlot(new Date('2026-01-01T02:00:00Z'));
    assert.equal((await readVerifications(repo, second)).length, 1);
  } finally {
    await own.stop();
    await repo.close();
  }
});
