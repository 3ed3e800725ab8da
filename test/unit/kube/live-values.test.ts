import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { EtcdDb, prefixRangeEnd } from '../../../src/etcd/index.js';
import { liveValues } from '../../../src/kube/live-values.js';
import { fixtureCopy, scratch } from '../snapshot/fixture.js';

function all(
  db: EtcdDb,
  rev: bigint,
  prefix: string,
  helper: boolean,
  stats = { helped: 0 },
  readWhileStarting = true,
): string[] {
  const out: string[] = [];
  for (const o of liveValues(db, rev, Buffer.from(prefix), { helper, stats, readWhileStarting }))
    out.push(`${o.key} ${o.modRevision} ${Buffer.from(o.value).toString('hex')}`);
  return out;
}

test('liveValues read on a helper thread gives what this thread reads: same keys, revisions, values, order', () => {
  const s = scratch();
  const db = EtcdDb.open(fixtureCopy(s.dir, 'a.db'));
  try {
    for (const [rev, prefix] of [
      [0n, '/'],
      [0n, '/k/'],
      [5n, '/'],
      [0n, '/nothing-here/'],
    ] as const) {
      const here = all(db, rev, prefix, false);
      // Read here while the helper starts (on this small file: all of it), or all by the helper.
      assert.deepEqual(all(db, rev, prefix, true), here, `rev ${rev} prefix ${prefix}`);
      const stats = { helped: 0 };
      assert.deepEqual(all(db, rev, prefix, true, stats, false), here, `rev ${rev} prefix ${prefix}`);
      // Every value came from the helper thread (a helper that fails leaves the reading to this one).
      assert.equal(stats.helped, here.length);
      const counted: { helped: number; total?: number } = { helped: 0 };
      all(db, rev, prefix, false, counted);
      assert.equal(counted.total, here.length);
      assert.equal((stats as { total?: number }).total, here.length);
      if (prefix !== '/nothing-here/') assert.ok(here.length > 0);
    }
    const slash = Buffer.from('/');
    const count = db.mvcc.range({ key: slash, rangeEnd: prefixRangeEnd(slash), countOnly: true }).count;
    assert.equal(all(db, 0n, '/', false).length, count);
  } finally {
    db.close();
    s.done();
  }
});

test('liveValues reads here when the helper cannot read the file (it is no longer the file this one opened)', () => {
  const s = scratch();
  const path = fixtureCopy(s.dir, 'a.db');
  const db = EtcdDb.open(path);
  try {
    const want = all(db, 0n, '/', false);
    // The path now names a file that is not a database; this thread still reads the one it opened.
    const junk = join(s.dir, 'junk');
    writeFileSync(junk, Buffer.alloc(8192, 7));
    renameSync(junk, path);
    const stats = { helped: 0 };
    assert.deepEqual(all(db, 0n, '/', true, stats, false), want);
    assert.equal(stats.helped, 0);
  } finally {
    db.close();
    s.done();
  }
});
