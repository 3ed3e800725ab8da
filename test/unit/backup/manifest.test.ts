import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  makeManifest,
  parseManifest,
  serializeManifest,
  type BackupBody,
} from '../../../src/backup/manifest.js';
import { listBackups } from '../../../src/backup/read.js';
import { isVerified } from '../../../src/backup/verify.js';
import { FileRepository } from '../../../src/stores/file.js';
import { idOfVerificationKey, manifestKey, verificationKey } from '../../../src/stores/layout.js';
import { CorruptInputError } from '../../../src/util/errors.js';

const BIG = 2n ** 60n + 7n; // above 2^53: a JS number would round it
const ID = '20260203T040506Z-a1b2c3d4';

function body(over: Partial<BackupBody> = {}): BackupBody {
  return {
    id: ID,
    cluster: { name: 'prod', etcdClusterId: 'cdf818194e3a8c32' },
    created: '2026-02-03T04:05:06Z',
    lifeboatVersion: '0.0.0',
    source: {
      memberId: '8e9e05c52164694d',
      memberName: 'm1',
      endpoint: 'https://127.0.0.1:2379',
      etcdVersion: '3.6.16',
      raftAppliedIndex: BIG + 1n,
      reason: 'follower with the highest applied index',
    },
    revision: BIG + 2n,
    compactRevision: BIG - 3n,
    liveKeys: BIG + 4n,
    hashKV: 4294967295,
    structureChecked: true,
    artifacts: [
      {
        kind: 'etcd-snapshot',
        object: `data/${ID}/etcd-snapshot.db.zst.age`,
        size: BIG + 5n,
        storedSize: BIG + 6n,
        sha256: 'a'.repeat(64),
        storedSha256: 'b'.repeat(64),
        compression: 'zstd',
        encryption: { format: 'age-v1', recipientFingerprints: ['f'] },
      },
    ],
    contents: { objectsPerResource: { pods: 3, 'deployments.apps': 1 } },
    ...over,
  };
}

test('int64 manifest fields above 2^53 round-trip exactly', () => {
  const text = serializeManifest(makeManifest(body()));
  // The document carries the bare digits…
  assert.match(text, new RegExp(`"revision": ${BIG + 2n},`));
  // …which JSON.parse would round (this is what the exact parser prevents).
  assert.notEqual(BigInt((JSON.parse(text) as { revision: number }).revision), BIG + 2n);
  const m = parseManifest(text, 'test', ID);
  assert.equal(m.revision, BIG + 2n);
  assert.equal(m.compactRevision, BIG - 3n);
  assert.equal(m.liveKeys, BIG + 4n);
  assert.equal(m.source.raftAppliedIndex, BIG + 1n);
  assert.equal(m.artifacts[0]!.size, BIG + 5n);
  assert.equal(m.artifacts[0]!.storedSize, BIG + 6n);
  assert.equal(m.hashKV, 4294967295);
  assert.deepEqual(m.contents, { objectsPerResource: { pods: 3, 'deployments.apps': 1 } });
  assert.equal(serializeManifest(m), text, 'parse ∘ serialize is the identity');
});

test('a negative compactRevision (nothing compacted) and nulls round-trip', () => {
  const m = parseManifest(
    serializeManifest(
      makeManifest(
        body({
          compactRevision: -1n,
          revision: null,
          liveKeys: null,
          hashKV: null,
          structureChecked: false,
          structureCheckSkipped: 'why',
          contents: null,
        }),
      ),
    ),
    'test',
  );
  assert.equal(m.compactRevision, -1n);
  assert.equal(m.revision, null);
  assert.equal(m.structureCheckSkipped, 'why');
  assert.equal(m.contents, null);
});

test('non-integers where int64 belongs are corrupt input, not silently rounded', () => {
  const text = serializeManifest(makeManifest(body())).replace(`"revision": ${BIG + 2n}`, '"revision": 1.5');
  assert.throws(() => parseManifest(text, 'm.json'), CorruptInputError);
  const huge = serializeManifest(makeManifest(body())).replace('"hashKV": 4294967295', `"hashKV": ${BIG}`);
  assert.throws(() => parseManifest(huge, 'm.json'), /hashKV: expected 0\.\.2\^53-1/);
});

test('structureCheckSkipped: null when the check ran, the given reason otherwise, right after structureChecked', () => {
  assert.equal(makeManifest(body()).structureCheckSkipped, null);
  const m = makeManifest(
    body({ structureChecked: false, structureCheckSkipped: 'spool on etcd filesystem' }),
  );
  assert.equal(m.structureCheckSkipped, 'spool on etcd filesystem');
  assert.match(makeManifest(body({ structureChecked: false })).structureCheckSkipped ?? '', /not inspected/);
  const keys = Object.keys(m);
  assert.equal(keys[keys.indexOf('structureChecked') + 1], 'structureCheckSkipped');
});

test('verification record keys sort by time and name their backup', () => {
  const a = verificationKey(ID, new Date('2026-02-03T05:00:00.001Z'), 'beef');
  const b = verificationKey(ID, new Date('2026-02-03T05:00:00.010Z'), '0000');
  assert.equal(a, `verifications/${ID}/20260203T050000.001Z-beef.json`);
  assert.ok(a < b);
  assert.equal(idOfVerificationKey(a), ID);
  assert.equal(idOfVerificationKey('verifications/x/y.json'), undefined);
  assert.throws(() => verificationKey(ID, new Date(), '../x'));
});

test('verified: the newest record decides; without records, a structure check at create counts', () => {
  const st = new Map([
    ['a', { result: 'passed' as const, restoreTested: true }],
    ['b', { result: 'passed' as const, restoreTested: false }],
    ['c', { result: 'failed' as const, restoreTested: true }],
  ]);
  const m = (id: string, structureChecked: boolean) => ({ id, structureChecked });
  assert.equal(isVerified(m('a', false), st, true), true);
  assert.equal(isVerified(m('b', true), st, true), false, 'restore tests required');
  assert.equal(isVerified(m('b', false), st, false), true);
  assert.equal(isVerified(m('c', true), st, false), false, 'a failed newest record wins');
  assert.equal(isVerified(m('d', true), st, false), true);
  assert.equal(isVerified(m('d', true), st, true), false);
  assert.equal(isVerified(m('e', false), st, false), false);
});

test('backups made within one second list in creation order (ids carry whole seconds only)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-list-'));
  const repo = await FileRepository.open(dir);
  try {
    // The later backup has the smaller random suffix: ordering by id alone would put it first.
    const older = { id: '20260203T040506Z-ffffffff', created: '2026-02-03T04:05:06.100Z' };
    const newer = { id: '20260203T040506Z-00000000', created: '2026-02-03T04:05:06.900Z' };
    for (const b of [newer, older]) {
      const m = makeManifest(
        body({ ...b, artifacts: [{ ...body().artifacts[0]!, object: `data/${b.id}/x` }] }),
      );
      await repo.put(manifestKey(b.id), Buffer.from(serializeManifest(m)));
    }
    assert.deepEqual(
      (await listBackups(repo)).map((m) => m.id),
      [older.id, newer.id],
    );
  } finally {
    await repo.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
