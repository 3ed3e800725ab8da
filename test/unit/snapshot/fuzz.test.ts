/**
 * Fuzz: mutated copies of a real snapshot (bit flips, zeroed pages, shuffled page ids, truncation) go
 * through open, status, verify, a full listing and a history. Allowed outcomes: success, or a Lifeboat
 * error (CorruptInputError, RevisionUnavailableError, ...). Anything else — a TypeError, a RangeError, a
 * hang — fails. Bounded budget: LIFEBOAT_FUZZ_ITERATIONS (default 250) and LIFEBOAT_FUZZ_SECONDS (20).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { EtcdDb } from '../../../src/etcd/index.js';
import { LifeboatError } from '../../../src/util/errors.js';
import { FIXTURE, scratch } from './fixture.js';
import { rng } from '../../helpers/rng.js';

const s = scratch();
after(() => s.done());

function mutate(orig: Buffer, r: () => number): { data: Buffer; what: string } {
  const b = Buffer.from(orig);
  const pages = Math.floor(b.length / 4096);
  const kind = Math.floor(r() * 6);
  const page = Math.floor(r() * pages);
  switch (kind) {
    case 0: {
      const n = 1 + Math.floor(r() * 8);
      for (let i = 0; i < n; i++) {
        const at = Math.floor(r() * b.length);
        b[at] = b[at]! ^ (1 << Math.floor(r() * 8));
      }
      return { data: b, what: `${n} bit flips` };
    }
    case 1:
      b.fill(0, page * 4096, page * 4096 + 4096);
      return { data: b, what: `page ${page} zeroed` };
    case 2: {
      // Page header fields: id, flags, count, overflow.
      const off = page * 4096 + [0, 8, 10, 12][Math.floor(r() * 4)]!;
      b.writeUInt16LE(Math.floor(r() * 65536), off);
      return { data: b, what: `page ${page} header byte ${off % 4096} changed` };
    }
    case 3: {
      // An element inside a page: pos/ksize/vsize/pgid.
      const off = page * 4096 + 16 + Math.floor(r() * 16) * 16 + Math.floor(r() * 4) * 4;
      b.writeUInt32LE(Math.floor(r() * 2 ** 32), off);
      return { data: b, what: `page ${page} element word at ${off % 4096} changed` };
    }
    case 4:
      return { data: b.subarray(0, Math.floor(r() * b.length)), what: 'truncated' };
    default: {
      const other = Math.floor(r() * pages);
      b.copy(b, page * 4096, other * 4096, other * 4096 + 4096);
      return { data: b, what: `page ${other} copied over page ${page}` };
    }
  }
}

function exercise(path: string): void {
  const db = EtcdDb.open(path);
  try {
    db.verifyStructure();
    db.status();
    let n = 0;
    for (const kv of db.mvcc.liveAt(0n)) {
      n += kv.key.length;
    }
    db.mvcc.history(Buffer.from('/k/002'));
    db.hashKV();
    db.leases();
    db.members();
    void n;
  } finally {
    db.close();
  }
}

describe('fuzz: mutated real snapshots', () => {
  it('never fail with anything but a Lifeboat error, within budget', () => {
    const iterations = Number(process.env.LIFEBOAT_FUZZ_ITERATIONS ?? 250);
    const deadline = Date.now() + Number(process.env.LIFEBOAT_FUZZ_SECONDS ?? 20) * 1000;
    const seed = Number(process.env.LIFEBOAT_FUZZ_SEED ?? Date.now() % 1_000_000);
    const r = rng(seed);
    const orig = readFileSync(FIXTURE);
    const p = join(s.dir, 'fuzz.db');
    let ran = 0;
    let rejected = 0;
    for (let i = 0; i < iterations && Date.now() < deadline; i++) {
      const { data, what } = mutate(orig, r);
      writeFileSync(p, data);
      try {
        exercise(p);
      } catch (e) {
        if (!(e instanceof LifeboatError)) {
          assert.fail(`seed ${seed}, iteration ${i} (${what}): ${e instanceof Error ? e.stack : String(e)}`);
        }
        assert.ok(!e.message.includes('\n'), 'one line');
        rejected++;
      }
      ran++;
    }
    assert.ok(ran >= 20, `only ${ran} iterations ran`);
    assert.ok(rejected > 0, 'some mutations must be detected');
  });
});
