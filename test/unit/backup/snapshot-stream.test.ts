/** The streaming snapshot checks: digests and trailer, whatever the chunking. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { SnapshotChecker } from '../../../src/backup/snapshot-stream.js';
import { VerificationError } from '../../../src/util/errors.js';
import { FIXTURE } from '../snapshot/fixture.js';

function feed(data: Buffer, sizes: number[]): SnapshotChecker {
  const c = new SnapshotChecker('fixture');
  let off = 0;
  for (let i = 0; off < data.length; i++) {
    const n = sizes[i % sizes.length]!;
    c.update(data.subarray(off, off + n));
    off += n;
  }
  return c;
}

test('sha256 is the whole stream and the trailer checks out, for any chunking', () => {
  const snap = readFileSync(FIXTURE);
  const whole = createHash('sha256').update(snap).digest('hex');
  const trailer = createHash('sha256')
    .update(snap.subarray(0, snap.length - 32))
    .digest('hex');
  for (const sizes of [[snap.length], [32768], [1, 31, 32, 33, 4096], [snap.length - 10, 10], [1 << 20]]) {
    const f = feed(snap, sizes).finish();
    assert.equal(f.sha256, whole, `chunks ${sizes.join(',')}`);
    assert.equal(f.trailer, trailer);
    assert.equal(f.size, BigInt(snap.length));
  }
});

test('a damaged byte or a cut stream fails the trailer check', () => {
  const snap = readFileSync(FIXTURE);
  const bad = Buffer.from(snap);
  bad[bad.length - 5000]! ^= 1;
  assert.throws(() => feed(bad, [32768]).finish(), VerificationError);
  assert.throws(() => feed(snap.subarray(0, snap.length - 512), [32768]).finish(), VerificationError);
});
