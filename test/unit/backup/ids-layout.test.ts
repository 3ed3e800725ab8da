import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newBackupId, timeOfId } from '../../../src/backup/ids.js';
import {
  dataKey,
  idOfDataKey,
  idOfManifestKey,
  manifestKey,
  snapshotObjectName,
} from '../../../src/stores/layout.js';

test('ids are <yyyymmddThhmmssZ>-<8 hex> in UTC and round-trip their time', () => {
  const t = new Date('2026-02-03T04:05:06.789Z');
  const id = newBackupId(t, () => Buffer.from('a1b2c3d4', 'hex'));
  assert.equal(id, '20260203T040506Z-a1b2c3d4');
  assert.equal(timeOfId(id).toISOString(), '2026-02-03T04:05:06.000Z');
  assert.match(newBackupId(t), /^20260203T040506Z-[0-9a-f]{8}$/);
});

test('object keys', () => {
  const id = '20260203T040506Z-a1b2c3d4';
  assert.equal(manifestKey(id), `manifests/${id}.json`);
  assert.equal(dataKey(id, snapshotObjectName('zstd', true)), `data/${id}/etcd-snapshot.db.zst.age`);
  assert.equal(snapshotObjectName('none', false), 'etcd-snapshot.db');
  assert.equal(idOfManifestKey(manifestKey(id)), id);
  assert.equal(idOfDataKey(dataKey(id, 'x')), id);
  assert.equal(idOfManifestKey('manifests/other.json'), undefined);
  assert.throws(() => manifestKey('../x'), /expected <yyyymmddThhmmssZ>-<8 hex>/);
});
