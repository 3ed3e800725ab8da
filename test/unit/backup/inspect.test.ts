/**
 * The inspection of a spooled snapshot on worker threads (two: structure check + summary, HashKV; or one
 * running both) gives exactly what the one-thread inspection gives, on the real etcd 3.6 fixture and on a
 * damaged copy.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspectSnapshotFile } from '../../../src/backup/inspect.js';
import {
  InspectionWorker,
  PARALLEL_MIN_BYTES,
  parallelInspection,
} from '../../../src/backup/inspect-worker.js';
import { FACTS, FIXTURE, fixtureCopy, scratch } from '../snapshot/fixture.js';

// Two workers, and one worker running both parts.
const MODES = [true, false];

test('two threads only for a large db on more than two cores', () => {
  assert.equal(parallelInspection(PARALLEL_MIN_BYTES, 4), true);
  assert.equal(parallelInspection(PARALLEL_MIN_BYTES - 1n, 4), false);
  assert.equal(parallelInspection(PARALLEL_MIN_BYTES, 2), false);
  // On two cores only when the spool left out most of the bytes (the values' CRC is then already known).
  assert.equal(parallelInspection(PARALLEL_MIN_BYTES, 2, 0.08), true);
  assert.equal(parallelInspection(PARALLEL_MIN_BYTES, 2, 0.9), false);
  assert.equal(parallelInspection(PARALLEL_MIN_BYTES, 1, 0.08), false);
});

test('worker inspection equals the one-thread inspection and reports the revision early', async () => {
  const one = inspectSnapshotFile(FIXTURE);
  assert.equal(one.structureOk, true);
  assert.equal(one.hashKV, FACTS.hashkv);
  for (const parallel of MODES) {
    const w = new InspectionWorker(parallel);
    const revisions: bigint[] = [];
    try {
      const two = await w.inspect(FIXTURE, (r) => revisions.push(r));
      assert.deepEqual(two, one);
    } finally {
      await w.close();
    }
    assert.deepEqual(revisions, [one.revision]);
  }
});

test('a damaged page: structureOk false with the same problems, no HashKV result used', async () => {
  const s = scratch();
  try {
    // Page 2's header names another page id.
    const bad = fixtureCopy(s.dir, 'bad.snap', (b) => {
      b.writeUInt32LE(0xdead, 2 * 4096);
      return b;
    });
    const one = inspectSnapshotFile(bad);
    assert.equal(one.structureOk, false);
    assert.match(one.structureProblems.join('\n'), /page 2: page header says id 57005, expected 2/);
    for (const parallel of MODES) {
      const w = new InspectionWorker(parallel);
      try {
        const two = await w.inspect(bad);
        assert.deepEqual(two, one);
        assert.equal(two.hashKV, 0);
        assert.deepEqual(two.objectsPerResource, {});
      } finally {
        await w.close();
      }
    }
  } finally {
    s.done();
  }
});

test('a file that is not a snapshot: the worker inspection fails with the reader error', async () => {
  const s = scratch();
  try {
    const junk = fixtureCopy(s.dir, 'junk.snap', (b) => Buffer.alloc(b.length, 0x41));
    assert.throws(() => inspectSnapshotFile(junk));
    for (const parallel of MODES) {
      const w = new InspectionWorker(parallel);
      try {
        await assert.rejects(w.inspect(junk));
      } finally {
        await w.close();
      }
    }
  } finally {
    s.done();
  }
});
