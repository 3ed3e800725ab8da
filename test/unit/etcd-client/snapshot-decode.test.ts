/** The snapshot stream's SnapshotResponse decoder against messages encoded from etcd-v3.proto. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import * as protoLoader from '@grpc/proto-loader';
import { decodeSnapshotResponse } from '../../../src/etcd-client/client.js';
import { packageRoot } from '../../../src/util/version.js';

type Encode = (m: object) => Buffer;

function encoder(): Encode {
  const def = protoLoader.loadSync(join(packageRoot(), 'src', 'etcd-client', 'etcd-v3.proto'), {
    longs: String,
    keepCase: true,
  });
  const svc = def['etcdserverpb.Maintenance'] as unknown as { Snapshot: { responseSerialize: Encode } };
  return svc.Snapshot.responseSerialize;
}

test('blob, remaining_bytes (full uint64 range) and version decode; the header is skipped', () => {
  const encode = encoder();
  const decode = decodeSnapshotResponse();
  const blob = Buffer.from(Array.from({ length: 40_000 }, (_, i) => i & 0xff));
  for (const [remaining, version] of [
    ['0', ''],
    ['123456789012', '3.6.0'],
    ['18446744073709551615', '3.5.21'],
  ] as const) {
    const msg = encode({
      header: { cluster_id: '99', member_id: '18446744073709551615', revision: '7', raft_term: '2' },
      remaining_bytes: remaining,
      blob,
      version,
    });
    const d = decode(msg);
    assert.ok(Buffer.isBuffer(d.blob));
    assert.ok(d.blob.equals(blob));
    assert.equal(d.remainingBytes, BigInt(remaining));
    assert.equal(d.version, version);
  }
  const empty = decode(encode({}));
  assert.equal(empty.blob.length, 0);
  assert.equal(empty.remainingBytes, 0n);
});

test('a truncated message is an error, not a short blob', () => {
  const msg = encoder()({ remaining_bytes: '5', blob: Buffer.alloc(1000, 1) });
  assert.throws(() => decodeSnapshotResponse()(msg.subarray(0, msg.length - 10)));
});
