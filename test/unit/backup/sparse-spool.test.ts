/** The sparse spool: what it leaves out, that the inspection of it equals the full file's, and refusals. */
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { inspectSnapshotFile } from '../../../src/backup/inspect.js';
import { SparseSpoolWriter } from '../../../src/backup/sparse-spool.js';
import { PageNotKeptError, splitByHoles, type PageHoles } from '../../../src/bbolt/sparse.js';
import { crc32c } from '../../../src/etcd/crc32c.js';
import { EtcdDb } from '../../../src/etcd/index.js';
import { FACTS, FIXTURE, scratch } from '../snapshot/fixture.js';
import { rng } from '../../helpers/rng.js';

function spool(path: string, data: Buffer, batch: number): { holes: PageHoles | undefined; written: number } {
  const fd = openSync(path, 'wx', 0o600);
  try {
    const w = new SparseSpoolWriter(fd);
    for (let off = 0; off < data.length; off += batch) w.write(data.subarray(off, off + batch));
    return { holes: w.finish(), written: w.written };
  } finally {
    closeSync(fd);
  }
}

test('the inner pages of the large value are left out; the rest is byte for byte the snapshot', () => {
  const snap = readFileSync(FIXTURE);
  const s = scratch();
  try {
    const path = join(s.dir, 'sparse.db');
    const { holes, written } = spool(path, snap, 1 << 20);
    assert.ok(holes, 'some pages left out');
    const ps = holes.pageSize;
    const left = holes.counts.reduce((acc, n) => acc + n, 0);
    assert.ok(left >= 10, `pages left out: ${left}`);
    const copy = readFileSync(path);
    assert.equal(copy.length, snap.length);
    assert.equal(written, snap.length - left * ps);
    const isHole = new Set<number>();
    for (const [i, start] of holes.starts.entries()) {
      const bytes = snap.subarray(start * ps, (start + holes.counts[i]!) * ps);
      assert.equal(holes.crcs[i], crc32c(bytes), `crc of run at page ${start}`);
      for (let p = start; p < start + holes.counts[i]!; p++) isHole.add(p);
    }
    for (let p = 0; p * ps < snap.length; p++) {
      const a = snap.subarray(p * ps, (p + 1) * ps);
      const b = copy.subarray(p * ps, (p + 1) * ps);
      if (isHole.has(p))
        assert.ok(
          b.every((x) => x === 0),
          `hole ${p} reads as zeros`,
        );
      else assert.ok(a.equals(b), `page ${p} kept as is`);
    }
  } finally {
    s.done();
  }
});

test('the inspection of the sparse copy equals that of the snapshot (HashKV, keys, structure)', () => {
  const snap = readFileSync(FIXTURE);
  const s = scratch();
  try {
    const full = inspectSnapshotFile(FIXTURE);
    assert.equal(full.hashKV, FACTS.hashkv);
    for (const batch of [1 << 20, 4096, 64 << 10]) {
      const path = join(s.dir, `sparse-${batch}.db`);
      const { holes } = spool(path, snap, batch);
      assert.ok(holes, `batch ${batch}: some pages left out`);
      assert.deepEqual(inspectSnapshotFile(path, undefined, holes), full, `batch ${batch}`);
    }
  } finally {
    s.done();
  }
});

test('batches not aligned to pages: everything from the first one on is written', () => {
  const snap = readFileSync(FIXTURE);
  const s = scratch();
  try {
    const path = join(s.dir, 'odd.db');
    const { holes, written } = spool(path, snap, 1000);
    assert.equal(holes, undefined);
    assert.equal(written, snap.length);
    assert.ok(readFileSync(path).equals(snap));
  } finally {
    s.done();
  }
});

test('reading a page that was left out is refused, never answered with zeros', () => {
  const snap = readFileSync(FIXTURE);
  const s = scratch();
  try {
    const path = join(s.dir, 'sparse.db');
    const { holes } = spool(path, snap, 1 << 20);
    const db = EtcdDb.open(path, { holes: holes! });
    try {
      // Keys only is answered; the large value itself is not in the copy.
      assert.equal(db.mvcc.range({ key: Buffer.from('/big'), keysOnly: true }).kvs.length, 1);
      assert.throws(() => db.mvcc.range({ key: Buffer.from('/big') }), PageNotKeptError);
    } finally {
      db.bolt.close();
    }
    // A checksum over part of a run that was left out cannot be answered from its CRC; all of it can.
    const ps = holes!.pageSize;
    const start = holes!.starts[0]! * ps;
    const len = holes!.counts[0]! * ps;
    const split = (pos: number, n: number) => {
      const pieces: string[] = [];
      splitByHoles(
        holes!,
        'x',
        pos,
        n,
        (p, l) => pieces.push(`read ${p}+${l}`),
        (crc, l) => pieces.push(`crc ${crc}+${l}`),
      );
      return pieces;
    };
    assert.throws(() => split(start + 1, len), PageNotKeptError);
    assert.throws(() => split(start - 10, len), PageNotKeptError);
    assert.deepEqual(split(start - 10, len + 20), [
      `read ${start - 10}+10`,
      `crc ${holes!.crcs[0]}+${len}`,
      `read ${start + len}+10`,
    ]);
  } finally {
    s.done();
  }
});

test('fuzz: damaged page headers and element tables never lose a byte silently', () => {
  const snap = readFileSync(FIXTURE);
  const s = scratch();
  const ps = 4096;
  const deadline = Date.now() + 10_000;
  let tried = 0;
  let sparse = 0;
  try {
    for (let seed = 1; seed <= 150 && Date.now() < deadline; seed++) {
      const r = rng(seed);
      const b = Buffer.from(snap);
      for (let n = 1 + Math.floor(r() * 4); n > 0; n--) {
        const page = 2 + Math.floor(r() * (b.length / ps - 2));
        // A header field (id, flags, count, overflow) or a leaf element field, set to an extreme or random value.
        const off = page * ps + [0, 8, 10, 12, 16, 20, 24, 28][Math.floor(r() * 8)]!;
        const v = [0xffffffff, 0, 1, 2, Math.floor(r() * 2 ** 32)][Math.floor(r() * 5)]!;
        b.writeUInt32LE(v >>> 0, off);
      }
      const path = join(s.dir, `fuzz-${seed}.db`);
      const { holes } = spool(path, b, 1 << 20);
      tried++;
      if (holes) sparse++;
      const copy = readFileSync(path);
      assert.equal(copy.length, b.length, `seed ${seed}`);
      // Every byte is in the copy as is, or in a run whose CRC is recorded.
      const inHole = new Uint8Array(Math.ceil(b.length / ps));
      if (holes) {
        for (const [i, start] of holes.starts.entries()) {
          const bytes = b.subarray(start * ps, (start + holes.counts[i]!) * ps);
          assert.equal(holes.crcs[i], crc32c(bytes), `seed ${seed}: run at page ${start}`);
          inHole.fill(1, start, start + holes.counts[i]!);
        }
      }
      for (let p = 0; p < inHole.length; p++) {
        if (inHole[p]) continue;
        assert.ok(
          copy.subarray(p * ps, (p + 1) * ps).equals(b.subarray(p * ps, (p + 1) * ps)),
          `seed ${seed}: page ${p}`,
        );
      }
      // The inspection of the copy agrees with that of the damaged file, or names the page it lacks.
      const full = (() => {
        try {
          const f = join(s.dir, `fuzz-${seed}-full.db`);
          writeFileSync(f, b);
          return { ok: inspectSnapshotFile(f) };
        } catch (err) {
          return { err: err as Error };
        }
      })();
      try {
        const got = inspectSnapshotFile(path, undefined, holes);
        assert.deepEqual({ ok: got }, full, `seed ${seed}`);
      } catch (err) {
        if (err instanceof PageNotKeptError) continue;
        assert.ok(
          'err' in full && full.err?.constructor === (err as Error).constructor,
          `seed ${seed}: ${err}`,
        );
      }
    }
    assert.ok(tried >= 20 && sparse >= tried / 2, `${sparse} of ${tried} damaged copies were sparse`);
  } finally {
    s.done();
  }
});
