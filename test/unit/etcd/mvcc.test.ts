import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EtcdDb, RevisionUnavailableError } from '../../../src/etcd/index.js';
import { FACTS, FIXTURE } from '../snapshot/fixture.js';

describe('MVCC view of a real etcd 3.6 snapshot', () => {
  const open = () => EtcdDb.open(FIXTURE);

  it('status equals what etcdutl 3.6 printed, and HashKV what etcd computed', () => {
    const db = open();
    try {
      const st = db.status();
      assert.equal(st.hash, FACTS.etcdutl36.hash);
      assert.equal(st.revision, BigInt(FACTS.etcdutl36.revision));
      assert.equal(st.totalSize, BigInt(FACTS.etcdutl36.totalSize));
      assert.equal(st.liveKeys, FACTS.etcdutl36.totalKey);
      assert.ok(st.totalKey > st.liveKeys, '3.5 totalKey counts every entry of every bucket');
      assert.equal(st.summary.version, FACTS.etcdutl36.version);
      assert.equal(db.hashKV().hash, FACTS.hashkv);
    } finally {
      db.close();
    }
  });

  it("applies etcd's revision rules: compacted refused, = compacted allowed, future refused, 0 = current", () => {
    const db = open();
    try {
      const m = db.mvcc;
      assert.equal(m.compactRevision, BigInt(FACTS.compacted));
      assert.equal(m.currentRevision, BigInt(FACTS.head));
      assert.throws(
        () => m.range({ key: Buffer.from('/k/001'), revision: m.compactRevision - 1n }),
        (e: unknown) =>
          e instanceof RevisionUnavailableError && /required revision has been compacted/.test(e.message),
      );
      assert.throws(
        () => m.range({ key: Buffer.from('/k/001'), revision: m.currentRevision + 1n }),
        (e: unknown) =>
          e instanceof RevisionUnavailableError && /required revision is a future revision/.test(e.message),
      );
      assert.equal(m.range({ key: Buffer.from('/k/001'), revision: m.compactRevision }).kvs.length, 1);
      assert.equal(m.range({ key: Buffer.from('/k/001') }).revision, m.currentRevision);
    } finally {
      db.close();
    }
  });

  it('reads keys at any retained revision: overwrite, delete, re-create, lease', () => {
    const db = open();
    try {
      const m = db.mvcc;
      const get = (k: string, rev?: bigint) => m.range({ key: Buffer.from(k), revision: rev }).kvs[0];
      assert.equal(get('/k/001')!.value!.toString(), 'again');
      assert.equal(get('/k/001', 4n)!.value!.toString(), 'v1');
      assert.equal(get('/k/002', 6n), undefined, 'deleted at 6');
      const re = get('/k/002')!;
      assert.equal(re.value!.toString(), 'recreated');
      assert.equal(re.version, 1n);
      assert.equal(re.createRevision, re.modRevision);
      assert.equal(get('/leased')!.lease, BigInt(`0x${FACTS.lease}`));
      assert.equal(get('/big')!.value!.length, 100000);
      assert.deepEqual(get('bin/\u0001')!.value, Buffer.from([0, 1, 0xff]));
      const all = m.range({ key: Buffer.from([0]), rangeEnd: Buffer.from([0]) });
      assert.equal(all.count, FACTS.etcdutl36.totalKey);
      const limited = m.range({
        key: Buffer.from('/k/'),
        rangeEnd: Buffer.from('/k0'),
        limit: 3,
        keysOnly: true,
      });
      assert.equal(limited.kvs.length, 3);
      assert.equal(limited.more, true);
      assert.equal(limited.kvs[0]!.value, undefined);
      const keys = limited.kvs.map((kv) => kv.key.toString());
      assert.deepEqual(keys, [...keys].sort());
    } finally {
      db.close();
    }
  });

  it('liveAt streams the same keys in key order and in file order', () => {
    const db = open();
    try {
      const byKey = [...db.mvcc.liveAt(0n)];
      const byRev = [...db.mvcc.liveAt(0n, { order: 'revision' })];
      assert.equal(byKey.length, FACTS.etcdutl36.totalKey);
      assert.deepEqual(
        byRev.map((k) => k.key.toString('hex')).sort(),
        byKey.map((k) => k.key.toString('hex')),
      );
      assert.ok(byKey.every((kv) => kv.value !== undefined));
      assert.ok([...db.mvcc.liveAt(0n, { keysOnly: true })].every((kv) => kv.value === undefined));
    } finally {
      db.close();
    }
  });

  it('liveKeysAt lists the keys range() finds at every retained revision, in every range mode', () => {
    const db = open();
    try {
      const m = db.mvcc;
      const ranges: { key?: Buffer; rangeEnd?: Buffer }[] = [
        {},
        { key: Buffer.from([0]), rangeEnd: Buffer.from([0]) },
        { key: Buffer.from('/k/'), rangeEnd: Buffer.from('/k0') },
        { key: Buffer.from('/k/002') },
        { key: Buffer.from('/k/002'), rangeEnd: Buffer.from([0]) },
      ];
      let deletedSeen = false;
      for (let rev = m.compactRevision; rev <= m.currentRevision; rev++) {
        for (const r of ranges) {
          const want = m
            .range({
              key: r.key ?? Buffer.from([0]),
              rangeEnd: r.key ? r.rangeEnd : Buffer.from([0]),
              revision: rev,
              keysOnly: true,
            })
            .kvs.map((kv) => kv.key.toString('latin1'));
          // compactAt 2: the collected list is sorted and de-duplicated over and over while scanning.
          for (const compactAt of [undefined, 2]) {
            const got = m.liveKeysAt(rev, { ...r, ...(compactAt ? { compactAt } : {}) });
            assert.deepEqual(
              got,
              want,
              `revision ${rev}, range ${JSON.stringify(r)}, compactAt ${compactAt}`,
            );
          }
        }
        if (!m.liveKeysAt(rev).includes('/k/002')) deletedSeen = true;
      }
      assert.ok(deletedSeen, 'the fixture holds a revision at which /k/002 is deleted');
      assert.ok(m.liveKeysAt(0n).includes('/k/002'), '/k/002 is re-created after its deletion');
    } finally {
      db.close();
    }
  });

  it('history lists every retained revision, deletions included', () => {
    const db = open();
    try {
      const h = db.mvcc.history(Buffer.from('/k/002'));
      assert.deepEqual(
        h.revisions.map((r) => r.type),
        ['put', 'delete', 'put'],
      );
      assert.equal(h.revisions[1]!.kv.version, 0n);
      const gone = db.mvcc.history(Buffer.from('/k/003'));
      assert.equal(gone.revisions.at(-1)!.type, 'delete');
      assert.deepEqual(db.mvcc.history(Buffer.from('nope')).revisions, []);
    } finally {
      db.close();
    }
  });

  it('members keep their uint64 ids exact (from the hex key)', () => {
    const db = open();
    try {
      const [m] = db.members();
      assert.ok(m);
      assert.equal(m.idHex, m.id.toString(16));
      assert.equal(m.name, 'default');
      assert.ok(db.summary().meta.confStateVoters!.includes(m.id));
    } finally {
      db.close();
    }
  });
});
