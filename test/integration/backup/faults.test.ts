/**
 * Fault injection on a 3-member TLS etcd holding ≥ 64 MiB: the streaming member is killed from the
 * progress callback between 25 % and 75 % of the bytes; the backup still completes from another member,
 * its manifest names that member, and the stored snapshot downloads with a valid trailer.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createBackup } from '../../../src/backup/create.js';
import { generateIdentity } from '../../../src/backup/encryption.js';
import { downloadBackup, listBackups } from '../../../src/backup/read.js';
import { EtcdClient } from '../../../src/etcd-client/client.js';
import { resolveConnection } from '../../../src/etcd-client/flags.js';
import { Harness } from '../../../src/lab/harness.js';
import { FileRepository } from '../../../src/stores/file.js';
import { S3Repository } from '../../../src/stores/s3.js';
import { ConnectionError } from '../../../src/util/errors.js';
import { Minio } from '../../helpers/minio.js';

let h: Harness;
let dir: string;

before(async () => {
  h = await Harness.start({ etcdMembers: 3 });
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-faults-'));
  const c = EtcdClient.forEndpoint(h.etcd.endpoints[0]!, {
    tls: h.etcd.clientTls!,
    dialTimeoutMs: 5000,
    commandTimeoutMs: 30_000,
  });
  try {
    // 72 × 1 MiB of random bytes: the db is ≥ 64 MiB and does not compress away.
    for (let i = 0; i < 72; i++) await c.put(`/registry/blobs/b${i}`, randomBytes(1 << 20));
    const s = await c.status();
    assert.ok(s.dbSize >= 64n << 20n, `db is ${s.dbSize} bytes`);
  } finally {
    c.close();
  }
});

after(async () => {
  await h?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('killing the streaming member mid-stream: the backup completes from another member', async () => {
  const t = h.etcd.clientTls!;
  const conn = resolveConnection(
    { endpoints: h.etcd.endpoints.join(','), cacert: t.ca, cert: t.cert, key: t.key },
    {},
  );
  const repo = await FileRepository.open(join(dir, 'repo'));
  const id = await generateIdentity();
  const logs: string[] = [];
  let killed: string | undefined;
  let firedAt = 0;
  const manifest = await createBackup({
    conn,
    repo,
    recipients: [id.recipient],
    compression: 'zstd',
    compressionLevel: 1,
    stallTimeoutMs: 10_000,
    log: (l) => logs.push(l),
    onProgress: (p) => {
      if (killed || p.bytes < Number(p.total) / 4) return;
      firedAt = p.bytes / Number(p.total);
      killed = p.member;
      void h.etcd.kill(p.member);
    },
  });
  assert.ok(killed, 'the fault fired');
  assert.ok(firedAt >= 0.25 && firedAt <= 0.75, `fired at ${firedAt}`);
  assert.notEqual(manifest.source.memberName, killed);
  assert.match(manifest.source.reason, /after: /);
  assert.ok(
    logs.some((l) => l.includes(`failed mid-stream`)),
    logs.join('\n'),
  );
  assert.deepEqual(
    (await listBackups(repo)).map((m) => m.id),
    [manifest.id],
  );
  const out = join(dir, 'snap.db');
  const { facts } = await downloadBackup(repo, manifest.id, [id.identity], out);
  assert.ok(facts.size >= 64n << 20n);
  assert.deepEqual(await repo.partialUploads(), []);
  await h.etcd.restart(killed);
});

test('stopping MinIO mid-upload: a clear error, nothing listed, no object or incomplete upload; a later run succeeds', async () => {
  const t = h.etcd.clientTls!;
  const conn = resolveConnection(
    { endpoints: h.etcd.endpoints.join(','), cacert: t.ca, cert: t.cert, key: t.key },
    {},
  );
  const minio = await Minio.start();
  try {
    Object.assign(process.env, minio.env());
    await minio.createBucket('faults');
    const repo = S3Repository.open(minio.repoUrl('faults', 'p'));
    const id = await generateIdentity();
    let firedAt = 0;
    let relaunched: Promise<void> | undefined;
    await assert.rejects(
      createBackup({
        conn,
        repo,
        recipients: [id.recipient],
        compression: 'none',
        onProgress: (p) => {
          if (relaunched || p.bytes < Number(p.total) / 4) return;
          firedAt = p.bytes / Number(p.total);
          relaunched = (async () => {
            await minio.kill();
            await new Promise((r) => setTimeout(r, 5000));
            await minio.launch();
          })();
        },
      }),
      (e: unknown) => e instanceof ConnectionError && /unreachable|timed out|socket|ECONN/i.test(e.message),
    );
    assert.ok(firedAt >= 0.25 && firedAt <= 0.75, `fired at ${firedAt}`);
    await relaunched;
    assert.deepEqual(await listBackups(repo), []);
    assert.deepEqual(await repo.list(''), []);
    assert.deepEqual(await repo.incompleteUploads(), []);
    const m = await createBackup({
      conn,
      repo,
      recipients: [id.recipient],
      compression: 'zstd',
      compressionLevel: 1,
    });
    assert.deepEqual(
      (await listBackups(repo)).map((x) => x.id),
      [m.id],
    );
    await repo.close();
  } finally {
    await minio.stop();
  }
});
