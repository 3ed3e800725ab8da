import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import { openSnapshot, withSnapshot, FileChangedError } from '../../../src/snapshot/index.js';
import { CorruptInputError, NotFoundError } from '../../../src/util/errors.js';
import { FACTS, FIXTURE, fixtureCopy, scratch } from './fixture.js';

const s = scratch();
after(() => s.done());

describe('snapshot inputs detected by content', () => {
  it('an etcdctl snapshot: trailer present and valid; a flipped byte makes it mismatch', async () => {
    const snap = await openSnapshot(FIXTURE);
    try {
      assert.equal(snap.format, 'etcdctl-snapshot');
      assert.equal(snap.checkTrailer().state, 'valid');
    } finally {
      snap.close();
    }
    const p = fixtureCopy(s.dir, 'flip.snap', (b) => {
      b[b.length - 100] = b[b.length - 100]! ^ 0xff;
      return b;
    });
    const bad = await openSnapshot(p);
    try {
      assert.equal(bad.checkTrailer().state, 'mismatch');
    } finally {
      bad.close();
    }
  });

  it('a raw member db (no trailer), whatever its name', async () => {
    const p = fixtureCopy(s.dir, 'backup.gz', (b) => b.subarray(0, b.length - 32));
    const snap = await openSnapshot(p);
    try {
      assert.equal(snap.format, 'member-db');
      assert.equal(snap.checkTrailer().state, 'absent');
      assert.equal(snap.db.status().hash, FACTS.etcdutl36.hash);
    } finally {
      snap.close();
    }
  });

  it('a gzip is decompressed to a 0600 temp file that close() removes', async () => {
    const p = join(s.dir, 'snap.db');
    writeFileSync(p, gzipSync(readFileSync(FIXTURE)));
    const snap = await openSnapshot(p);
    const temp = snap.input.dbPath;
    try {
      assert.equal(snap.format, 'gzip');
      assert.equal(snap.input.innerFormat, 'etcdctl-snapshot');
      assert.equal(statSync(temp).mode & 0o777, 0o600);
      assert.equal(snap.db.mvcc.currentRevision, BigInt(FACTS.head));
    } finally {
      snap.close();
    }
    assert.equal(existsSync(temp), false);
    const broken = join(s.dir, 'broken.gz');
    const gz = gzipSync(readFileSync(FIXTURE));
    writeFileSync(broken, gz.subarray(0, gz.length >> 1));
    await assert.rejects(
      openSnapshot(broken),
      (e: unknown) => e instanceof CorruptInputError && /gzip/.test(e.message),
    );
  });

  it('a data directory: member/snap/db', async () => {
    const dd = join(s.dir, 'datadir');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dd, 'member', 'snap'), { recursive: true });
    fixtureCopy(join(dd, 'member', 'snap'), 'db');
    const snap = await openSnapshot(dd);
    try {
      assert.equal(snap.format, 'data-dir');
      assert.equal(snap.input.dataDir!.consistentIndex, snap.db.meta().consistentIndex);
    } finally {
      snap.close();
    }
    await assert.rejects(openSnapshot(s.dir), NotFoundError);
  });

  it('empty, missing, random and truncated inputs: one clear CorruptInputError line', async () => {
    await assert.rejects(openSnapshot(join(s.dir, 'nope')), NotFoundError);
    const empty = fixtureCopy(s.dir, 'empty', () => Buffer.alloc(0));
    await assert.rejects(
      openSnapshot(empty),
      (e: unknown) => e instanceof CorruptInputError && /empty file/.test(e.message),
    );
    const rnd = fixtureCopy(s.dir, 'random', () =>
      Buffer.from(Array.from({ length: 9000 }, (_, i) => (i * 7919) % 251)),
    );
    await assert.rejects(
      openSnapshot(rnd),
      (e: unknown) => e instanceof CorruptInputError && !e.message.includes('\n'),
    );
    const zip = fixtureCopy(s.dir, 'x.zip', () => Buffer.from('PK\u0003\u0004garbage'));
    await assert.rejects(openSnapshot(zip), CorruptInputError);
  });

  it('withSnapshot retries once when the file changes while read, then fails', async () => {
    const p = fixtureCopy(s.dir, 'live.db');
    let calls = 0;
    const bump = () => {
      // Rewrite meta 0 with a higher txid and a fresh checksum, as a writer would.
      const b = readFileSync(p);
      const txid = b.readBigUInt64LE(64) + 10n;
      b.writeBigUInt64LE(txid, 64);
      const { fnv1a64 } = require_fnv();
      b.writeBigUInt64LE(fnv1a64(b.subarray(16, 72)), 72);
      writeFileSync(p, b);
    };
    await assert.rejects(
      withSnapshot(
        p,
        () => {
          calls++;
          bump();
        },
        { warn: () => undefined },
      ),
      FileChangedError,
    );
    assert.equal(calls, 2);
    let once = 0;
    const r = await withSnapshot(
      p,
      () => {
        if (once++ === 0) bump();
        return 'ok';
      },
      { warn: () => undefined },
    );
    assert.equal(r, 'ok');
  });
});

import * as bbolt from '../../../src/bbolt/index.js';
function require_fnv() {
  return bbolt;
}
