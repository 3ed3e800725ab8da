import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { BoltDb, checkStructure, Page } from '../../../src/bbolt/index.js';
import { CorruptInputError } from '../../../src/util/errors.js';
import { FIXTURE, fixtureCopy, scratch } from '../snapshot/fixture.js';

const s = scratch();
after(() => s.done());

/** Finds a branch page of the key bucket (the fixture's key bucket has a branch root). */
function branchRoot(): { pgid: number; child0: number } {
  const db = BoltDb.open(FIXTURE);
  try {
    const root = db.bucket('key')!.rootPage() as Page;
    assert.ok(root.isBranch, 'the fixture key bucket has a branch root');
    return { pgid: root.pgid, child0: root.branchElement(0).child };
  } finally {
    db.close();
  }
}

describe('bbolt loops between pages', () => {
  it('a branch pointing to itself is reported as a loop, not a hang', () => {
    const { pgid } = branchRoot();
    // Element 0 of the branch: pos u32, ksize u32, pgid u64 at page offset 16.
    const p = fixtureCopy(s.dir, 'loop.snap', (b) => {
      b.writeUInt32LE(pgid, pgid * 4096 + 16 + 8);
      b.writeUInt32LE(0, pgid * 4096 + 16 + 12);
      return b;
    });
    const db = BoltDb.open(p);
    try {
      const r = checkStructure(db);
      assert.ok(
        r.problems.some((x) => x.page === pgid && /loop|multiple references/.test(x.problem)),
        JSON.stringify(r.problems),
      );
      assert.throws(
        () => [...db.bucket('key')!.entries()],
        (e: unknown) => e instanceof CorruptInputError && /loop/.test(e.message),
      );
    } finally {
      db.close();
    }
  });
});
