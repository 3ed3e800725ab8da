import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { BoltDb, checkStructure, entryValue, fnv1a64 } from '../../../src/bbolt/index.js';
import { CorruptInputError } from '../../../src/util/errors.js';
import { FIXTURE, fixtureCopy, scratch } from '../snapshot/fixture.js';

const s = scratch();
after(() => s.done());

describe('bbolt reader on a real etcd snapshot', () => {
  it('FNV-1a 64 matches the reference vectors', () => {
    assert.equal(fnv1a64(Buffer.alloc(0)), 0xcbf29ce484222325n);
    assert.equal(fnv1a64(Buffer.from('a')), 0xaf63dc4c8601ec8cn);
    assert.equal(fnv1a64(Buffer.from('foobar')), 0x85944171f73967e8n);
  });

  it('picks the meta with the higher txid; both metas are valid in a snapshot', () => {
    const db = BoltDb.open(FIXTURE);
    try {
      assert.equal(db.pageSize, 4096);
      assert.ok(db.metas.meta0 && db.metas.meta1);
      assert.equal(db.metas.meta0.txid, db.metas.meta1.txid + 1n, 'WriteTo writes meta 1 with txid - 1');
      assert.equal(db.meta.page, 0);
      assert.deepEqual(
        [...db.root().entries()].map((e) => e.key.toString()),
        [
          'alarm',
          'auth',
          'authRoles',
          'authUsers',
          'cluster',
          'key',
          'lease',
          'members',
          'members_removed',
          'meta',
        ],
      );
    } finally {
      db.close();
    }
  });

  it('iterates a bucket in key order, seeks, and finds the last key', () => {
    const db = BoltDb.open(FIXTURE);
    try {
      const keys = db.bucket('key')!;
      const all = [...keys.entries()].map((e) => Buffer.from(e.key));
      assert.ok(all.length > 150);
      for (let i = 1; i < all.length; i++) assert.ok(Buffer.compare(all[i - 1]!, all[i]!) < 0, 'ascending');
      const c = keys.cursor();
      assert.ok(c.last()!.key.equals(all.at(-1)!));
      const mid = all[77]!;
      assert.ok(c.seek(mid)!.key.equals(mid), 'exact seek');
      const between = Buffer.concat([mid, Buffer.from([0])]);
      assert.ok(c.seek(between)!.key.equals(all[78]!), 'seek between keys lands on the next');
      assert.equal(c.seek(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), undefined);
      const n = keys.cursor();
      let count = 0;
      for (let e = n.first(); e; e = n.next()) count++;
      assert.equal(count, all.length);
      const big = all.map((k) => keys.getEntry(k)!).find((e) => e.valueSize > 90000);
      assert.ok(big, 'a value in overflow pages');
      assert.equal(entryValue(big).length, big.valueSize);
    } finally {
      db.close();
    }
  });

  it('falls back to meta 1 when meta 0 is zeroed, and refuses a file with both metas gone', () => {
    const p = fixtureCopy(s.dir, 'meta0.snap', (b) => b.fill(0, 0, 4096));
    const db = BoltDb.open(p);
    try {
      assert.equal(db.meta.page, 1);
      assert.equal(db.metas.meta0Problem, 'invalid magic');
      assert.ok(db.bucket('key'));
    } finally {
      db.close();
    }
    const bad = fixtureCopy(s.dir, 'both.snap', (b) => b.fill(0, 0, 8192));
    assert.throws(
      () => BoltDb.open(bad),
      (e: unknown) => e instanceof CorruptInputError && /no bbolt magic/.test(e.message),
    );
    const sum = fixtureCopy(s.dir, 'sum.snap', (b) => {
      b[72] = b[72]! ^ 1;
      return b;
    });
    const db2 = BoltDb.open(sum);
    try {
      assert.equal(db2.meta.page, 1, 'meta 0 checksum broken: meta 1 wins');
      assert.equal(db2.metas.meta0Problem, 'checksum mismatch');
    } finally {
      db2.close();
    }
  });

  it('the structure check passes on the real file and names the page of each problem', () => {
    const db = BoltDb.open(FIXTURE);
    let keyRoot: number;
    try {
      const r = checkStructure(db);
      assert.equal(r.ok, true, JSON.stringify(r.problems));
      assert.equal(r.pagesInUse + r.pagesFree, r.highWaterMark);
      keyRoot = db.bucket('key')!.rootPgid;
    } finally {
      db.close();
    }
    // Wrong page id in the key bucket's root page header.
    const p = fixtureCopy(s.dir, 'id.snap', (b) => {
      b.writeUInt32LE(keyRoot + 1, keyRoot * 4096);
      return b;
    });
    const db2 = BoltDb.open(p);
    try {
      const r = checkStructure(db2);
      assert.equal(r.ok, false);
      assert.ok(
        r.problems.some((x) => x.page === keyRoot && /header says id/.test(x.problem)),
        JSON.stringify(r.problems),
      );
    } finally {
      db2.close();
    }
    // Absurd overflow count.
    const o = fixtureCopy(s.dir, 'ovf.snap', (b) => {
      b.writeUInt32LE(0x7fffffff, keyRoot * 4096 + 12);
      return b;
    });
    const db3 = BoltDb.open(o);
    try {
      const r = checkStructure(db3);
      assert.ok(
        r.problems.some((x) => x.page === keyRoot && /overflow/.test(x.problem)),
        JSON.stringify(r.problems),
      );
      assert.throws(() => [...db3.bucket('key')!.entries()], CorruptInputError);
    } finally {
      db3.close();
    }
  });

  it('refuses empty, short and truncated files with one clear line', () => {
    const empty = fixtureCopy(s.dir, 'empty', () => Buffer.alloc(0));
    assert.throws(() => BoltDb.open(empty), /empty file/);
    const short = fixtureCopy(s.dir, 'short', (b) => b.subarray(0, 50));
    assert.throws(() => BoltDb.open(short), /too short/);
    const trunc = fixtureCopy(s.dir, 'trunc', (b) => b.subarray(0, 3 * 4096));
    assert.throws(
      () => BoltDb.open(trunc),
      (e: unknown) => e instanceof CorruptInputError && /truncated/.test(e.message),
    );
  });
});
