/**
 * Two schedulers on one MinIO bucket produce exactly one backup per slot (a write-once lease per slot);
 * metrics and /healthz show what happened, including backups another writer made (both schedulers refresh
 * lifeboat_backups and the last-success time from the repository on every tick); SIGTERM stops a scheduler
 * within 10 s with exit code 130.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { listBackups } from '../../../src/backup/read.js';
import { allocateBlock, type AddressBlock } from '../../../src/lab/address-block.js';
import { Harness } from '../../../src/lab/harness.js';
import { httpGet } from '../../../src/lab/health.js';
import { lockKey } from '../../../src/stores/layout.js';
import { S3Repository } from '../../../src/stores/s3.js';
import { lifeboatBin, runCli } from '../../helpers/cli.js';
import { Minio } from '../../helpers/minio.js';

let h: Harness;
let minio: Minio;
let dir: string;
let block: AddressBlock;

before(async () => {
  [h, minio] = await Promise.all([Harness.start({ etcdMembers: 1 }), Minio.start()]);
  await minio.createBucket('sched');
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-sched-'));
  block = allocateBlock('harness');
  const k = await runCli(['backup', 'keygen', '--out', join(dir, 'id.key')]);
  assert.equal(k.code, 0, k.stderr);
});

after(async () => {
  await h?.stop();
  await minio?.stop();
  block?.release();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function startScheduler(args: string[]): {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
} {
  const t = h.etcd.clientTls!;
  const child = spawn(
    lifeboatBin(),
    [
      'backup',
      'schedule',
      '--endpoints',
      h.etcd.endpoints[0]!,
      '--cacert',
      t.ca,
      '--cert',
      t.cert,
      '--key',
      t.key,
      '--encryption-identity',
      join(dir, 'id.key'),
      // Not the filesystem of the harness's etcd data dirs, so backups are structure-checked (verified).
      '--spool-dir',
      '/dev/shm',
      ...args,
    ],
    { env: { ...process.env, ...minio.env() }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, stderr: () => err, exited };
}

async function waitFor(url: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await httpGet(url, undefined, 1000);
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`${url} did not answer`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

test('two schedulers on one bucket: one backup per slot; metrics, /healthz, SIGTERM', async (t) => {
  const repoUrl = minio.repoUrl('sched', 'two');
  const common = [
    '--repo',
    repoUrl,
    '--cluster',
    'c1',
    '--cron',
    '*/3 * * * * *',
    '--compress',
    'zstd',
    '--max-age',
    '1h',
  ];
  const a = startScheduler([...common, '--listen', `${block.host(1)}:9100`]);
  const b = startScheduler([...common, '--listen', `${block.host(2)}:9100`]);
  // Schedulers left running by a failed assertion would go on using CPU after the test.
  t.after(() => {
    for (const s of [a, b]) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill();
  });
  await waitFor(`http://${block.host(1)}:9100/healthz`);
  await waitFor(`http://${block.host(2)}:9100/healthz`);
  // Let several 3 s slots pass; on a loaded machine a backup can take longer than a slot, so wait (up to
  // 60 s) until both schedulers have each run a backup, rather than for a fixed time.
  const success =
    /lifeboat_backup_last_success_timestamp_seconds\{cluster="c1",repository="s3:\/\/sched\/two\/"\} \d/;
  const scrape = async () => [
    (await httpGet(`http://${block.host(1)}:9100/metrics`)).body,
    (await httpGet(`http://${block.host(2)}:9100/metrics`)).body,
  ];
  await new Promise((r) => setTimeout(r, 13_000));
  let [metricsA, metricsB] = await scrape();
  for (
    let waited = 0;
    waited < 60_000 && !(success.test(metricsA!) && success.test(metricsB!));
    waited += 1000
  ) {
    await new Promise((r) => setTimeout(r, 1000));
    [metricsA, metricsB] = await scrape();
  }
  const health = await httpGet(`http://${block.host(1)}:9100/healthz`);

  // Each scheduler reads lifeboat_backups and the newest backup's time from the repository on every tick,
  // so a backup written by another writer shows in both. Take the leases of the next 60 s of slots (neither
  // scheduler backs up meanwhile), then write one backup of c1 with `backup create`.
  process.env.AWS_ACCESS_KEY_ID = minio.accessKey;
  process.env.AWS_SECRET_ACCESS_KEY = minio.secretKey;
  const leaseRepo = S3Repository.open(repoUrl);
  let outside: { id: string; created: string };
  let refreshed: { a: string; b: string; count: number } | undefined;
  try {
    const from = Math.ceil(Date.now() / 1000);
    for (let sec = from; sec < from + 60; sec++) {
      if (sec % 3 !== 0) continue;
      const stamp = new Date(sec * 1000)
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d{3}Z$/, 'Z');
      await leaseRepo.put(lockKey(`c1-${stamp}`), Buffer.from('{"holder":"test"}')).catch(() => undefined);
    }
    // A run that started before the leases has an earlier creation time (second resolution).
    await new Promise((r) => setTimeout(r, 1100));
    const tls = h.etcd.clientTls!;
    const made = await runCli(
      // prettier-ignore
      [
        'backup', 'create', '--endpoints', h.etcd.endpoints[0]!, '--cacert', tls.ca, '--cert', tls.cert,
        '--key', tls.key, '--repo', repoUrl, '--cluster', 'c1', '--encryption-identity', join(dir, 'id.key'),
        '--spool-dir', '/dev/shm', '-o', 'json',
      ],
      { env: { ...process.env, ...minio.env() } },
    );
    assert.equal(made.code, 0, made.stderr);
    outside = JSON.parse(made.stdout) as { id: string; created: string };
    const createdS = Date.parse(outside.created) / 1000;
    const lastOf = (m: string) =>
      Number(/lifeboat_backup_last_success_timestamp_seconds\{cluster="c1"[^}]*\} (\S+)/.exec(m)?.[1]);
    const countOf = (m: string) => Number(/lifeboat_backups\{cluster="c1"\} (\d+)/.exec(m)?.[1]);
    for (let waited = 0; waited < 30_000 && !refreshed; waited += 1000) {
      await new Promise((r) => setTimeout(r, 1000));
      const [ma, mb] = await scrape();
      const count = (await listBackups(leaseRepo)).filter((m) => m.cluster.name === 'c1').length;
      if ([ma!, mb!].every((m) => lastOf(m) === createdS && countOf(m) === count))
        refreshed = { a: ma!, b: mb!, count };
    }
    assert.ok(
      refreshed,
      `the schedulers' metrics never showed backup ${outside.id}:\n${a.stderr()}\n${b.stderr()}`,
    );
  } finally {
    await leaseRepo.close();
  }

  const stopAt = Date.now();
  a.child.kill('SIGTERM');
  b.child.kill('SIGTERM');
  const [ca, cb] = await Promise.all([a.exited, b.exited]);
  assert.ok(Date.now() - stopAt < 10_000, 'stopped within 10 s');
  assert.equal(ca, 130, a.stderr());
  assert.equal(cb, 130, b.stderr());

  process.env.AWS_ACCESS_KEY_ID = minio.accessKey;
  process.env.AWS_SECRET_ACCESS_KEY = minio.secretKey;
  const repo = S3Repository.open(repoUrl);
  try {
    const manifests = await listBackups(repo);
    const locks = (await repo.list('locks/')).map((o) => o.key);
    const leases = locks.filter((k) => !k.endsWith('.done.json'));
    const done = locks.filter((k) => k.endsWith('.done.json'));
    const doneIds: string[] = [];
    for (const k of done)
      doneIds.push((JSON.parse((await repo.getBytes(k)).toString()) as { backup: string }).backup);
    assert.ok(manifests.length >= 2, `${manifests.length} backups:\n${a.stderr()}\n${b.stderr()}`);
    // Exactly one backup per slot: every scheduled backup belongs to one slot, no slot has two.
    assert.deepEqual(
      [...doneIds].sort(),
      manifests
        .map((m) => m.id)
        .filter((i) => i !== outside.id)
        .sort(),
    );
    assert.equal(new Set(done).size, done.length);
    assert.ok(leases.length >= done.length);
    // Both schedulers saw the other take slots.
    const taken = (m: string) =>
      Number(/lifeboat_backup_slots_taken_by_others_total\{cluster="c1"\} (\d+)/.exec(m)?.[1] ?? 0);
    assert.ok(taken(metricsA!) + taken(metricsB!) >= 1, `${metricsA}\n${metricsB}`);
    assert.match(metricsA!, success);
    assert.match(metricsB!, success);
    assert.match(metricsA!, /lifeboat_backups\{cluster="c1"\} [1-9]/);
    assert.match(metricsA!, /lifeboat_backup_failures_total\{cluster="c1",reason="etcd"\} 0/);
    // Which scheduler wins each slot's lease is a race: the one that ran backups has their durations.
    const ran = [metricsA!, metricsB!].filter((m) => /lifeboat_backup_size_bytes\{cluster="c1"/.test(m));
    assert.ok(ran.length >= 1, `${metricsA}\n${metricsB}`);
    for (const m of ran) assert.match(m, /lifeboat_backup_duration_seconds_count\{cluster="c1"\} [1-9]/);
    assert.equal(health.status, 200, health.body);
  } finally {
    await repo.close();
  }
});

test('/healthz is unhealthy when there is no recent backup', async () => {
  const s = startScheduler([
    '--repo',
    minio.repoUrl('sched', 'empty'),
    '--cluster',
    'c2',
    '--cron',
    '0 0 1 1 *',
    '--listen',
    `${block.host(3)}:9100`,
    '--max-age',
    '1s',
  ]);
  try {
    await waitFor(`http://${block.host(3)}:9100/healthz`);
    const r = await httpGet(`http://${block.host(3)}:9100/healthz`);
    assert.equal(r.status, 503);
    assert.match(r.body, /no verified backup of cluster c2 in s3:\/\/sched\/empty\//);
  } finally {
    s.child.kill('SIGTERM');
    assert.equal(await s.exited, 130);
  }
});
