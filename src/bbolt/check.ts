/**
 * A full structural check of a bbolt file, in the spirit of bbolt's tx.Check: every page reached at most
 * once, header ids match, page types are right, keys are strictly ordered within pages and within the
 * bounds their parents give, overflow stays inside the data, values stay inside their pages, no loops, and
 * (when a freelist is persisted) every page is either reachable or free.
 */
import { CorruptInputError } from '../util/errors.js';
import type { Bucket } from './bucket.js';
import { isBucketEntry } from './cursor.js';
import type { BoltDb } from './db.js';
import { freelistIds } from './freelist.js';
import { PGID_NO_FREELIST } from './meta.js';
import { BUCKET_LEAF_FLAG, newLeafInfo, Page, PageFlag } from './page.js';
import { Bucket as BucketClass } from './bucket.js';

export interface StructureProblem {
  /** The page the problem is on, when there is one. */
  page?: number;
  problem: string;
}

export interface StructureReport {
  ok: boolean;
  problems: StructureProblem[];
  /** Problems beyond `maxProblems` that were counted but not listed. */
  moreProblems: number;
  highWaterMark: number;
  pageSize: number;
  /** Pages reached from the metas, the freelist and the bucket trees (overflow pages included). */
  pagesInUse: number;
  /** Pages listed in the freelist (or, without a persisted freelist, pages not reached). */
  pagesFree: number;
  freelistPersisted: boolean;
  buckets: number;
}

export interface CheckOptions {
  maxProblems?: number;
}

export function checkStructure(db: BoltDb, options: CheckOptions = {}): StructureReport {
  const maxProblems = options.maxProblems ?? 100;
  const hwm = db.hwm;
  const reached = new Uint8Array(hwm);
  const problems: StructureProblem[] = [];
  let moreProblems = 0;
  let buckets = 0;
  const report = (page: number | undefined, problem: string) => {
    if (problems.length < maxProblems) problems.push(page === undefined ? { problem } : { page, problem });
    else moreProblems++;
  };
  const describe = (e: unknown): string => (e instanceof CorruptInputError ? e.problem : String(e));

  for (const [i, p] of [
    [0, db.metas.meta0Problem],
    [1, db.metas.meta1Problem],
  ] as const) {
    if (p) report(i, `meta page ${i}: ${p}`);
  }
  reached[0] = 1;
  if (hwm > 1) reached[1] = 1;

  const mark = (id: number, overflow: number): void => {
    for (let i = 0; i <= overflow; i++) {
      const p = id + i;
      if (p >= hwm) {
        report(id, `overflow page ${p} is beyond the high-water mark ${hwm}`);
        return;
      }
      if (reached[p])
        report(p, i === 0 ? 'multiple references' : `multiple references (overflow of page ${id})`);
      reached[p] = 1;
    }
  };

  // Freelist.
  const free = new Uint8Array(hwm);
  let freeCount = 0;
  const freelistPersisted = db.meta.freelistPgid !== PGID_NO_FREELIST;
  if (freelistPersisted) {
    const fid = Number(db.meta.freelistPgid);
    try {
      const fp = db.page(fid, [PageFlag.freelist]);
      mark(fid, fp.header.overflow);
      for (const id of freelistIds(fp)) {
        if (id < 2 || id >= hwm) report(fid, `freelist lists page ${id}, outside 2..${hwm - 1}`);
        else if (free[id]) report(id, 'listed twice in the freelist');
        else {
          free[id] = 1;
          freeCount++;
        }
      }
    } catch (e) {
      report(fid, `freelist: ${describe(e)}`);
    }
  }

  // Bucket trees, iteratively.
  interface Work {
    id: number;
    lo: Buffer | undefined;
    hi: Buffer | undefined;
    depth: number;
    path: number[];
  }
  const bucketsToWalk: Bucket[] = [db.root()];
  const info = newLeafInfo();
  // Keys are compared in place (no Buffer per key): this runs for every entry of the database.
  const checkLeafEntries = (p: Page, lo: Buffer | undefined, hi: Buffer | undefined, where: number) => {
    let prev: Buffer | undefined;
    let prevStart = 0;
    let prevEnd = 0;
    const n = p.count;
    for (let i = 0; i < n; i++) {
      let kb: Buffer;
      let ks: number;
      try {
        p.leafInfo(i, info);
        if (info.keyOffset + info.keySize <= p.loadedLength) {
          kb = p.loaded;
          ks = info.keyOffset;
        } else {
          kb = p.peek(info.keyOffset, info.keySize);
          ks = 0;
        }
      } catch (err) {
        report(where, `leaf element ${i}: ${describe(err)}`);
        return;
      }
      const ke = ks + info.keySize;
      if (prev && prev.compare(kb, ks, ke, prevStart, prevEnd) >= 0)
        report(where, `leaf key ${i} out of order`);
      if (lo && kb.compare(lo, 0, lo.length, ks, ke) < 0)
        report(where, `leaf key ${i} below its parent's key`);
      if (hi && kb.compare(hi, 0, hi.length, ks, ke) >= 0)
        report(where, `leaf key ${i} not below the next parent key`);
      prev = kb;
      prevStart = ks;
      prevEnd = ke;
      const valueOffset = info.keyOffset + info.keySize;
      if (valueOffset + info.valueSize > p.fullLength) {
        report(where, `leaf element ${i}: value runs past the end of the page`);
        continue;
      }
      if (info.flags & BUCKET_LEAF_FLAG) {
        const key = kb.subarray(ks, ke);
        try {
          const entry = { key, flags: info.flags, page: p, valueOffset, valueSize: info.valueSize };
          if (isBucketEntry(entry)) {
            bucketsToWalk.push(
              BucketClass.fromValue(db, p.slice(valueOffset, info.valueSize), p, key.toString('latin1')),
            );
          }
        } catch (err) {
          report(where, `bucket ${JSON.stringify(key.toString('latin1'))}: ${describe(err)}`);
        }
      }
    }
  };

  while (bucketsToWalk.length > 0) {
    const b = bucketsToWalk.pop()!;
    buckets++;
    if (b.inline) {
      const p = b.rootPage();
      checkLeafEntries(p, undefined, undefined, p.pgid);
      continue;
    }
    const stack: Work[] = [{ id: b.rootPgid, lo: undefined, hi: undefined, depth: 0, path: [] }];
    while (stack.length > 0) {
      const w = stack.pop()!;
      if (w.path.includes(w.id)) {
        report(w.id, `loop: page ${w.path[w.path.length - 1]} points back to page ${w.id}`);
        continue;
      }
      if (w.depth > 64) {
        report(w.id, 'tree deeper than 64 levels');
        continue;
      }
      if (w.id < 2 || w.id >= hwm) {
        report(w.path[w.path.length - 1], `reference to page ${w.id}, outside 2..${hwm - 1}`);
        continue;
      }
      if (reached[w.id]) {
        report(w.id, 'multiple references');
        continue;
      }
      let p: Page;
      try {
        p = db.page(w.id, [PageFlag.branch, PageFlag.leaf]);
      } catch (err) {
        reached[w.id] = 1;
        report(w.id, describe(err));
        continue;
      }
      mark(w.id, p.header.overflow);
      if (free[w.id]) report(w.id, 'reachable page is also in the freelist');
      if (p.isLeaf) {
        checkLeafEntries(p, w.lo, w.hi, w.id);
        continue;
      }
      if (p.count === 0) {
        report(w.id, 'empty branch page');
        continue;
      }
      const children: Work[] = [];
      let prev: Buffer | undefined;
      for (let i = 0; i < p.count; i++) {
        let e;
        try {
          e = p.branchElement(i);
        } catch (err) {
          report(w.id, `branch element ${i}: ${describe(err)}`);
          break;
        }
        if (prev && Buffer.compare(prev, e.key) >= 0) report(w.id, `branch key ${i} out of order`);
        if (w.lo && Buffer.compare(e.key, w.lo) < 0) report(w.id, `branch key ${i} below its parent's key`);
        prev = e.key;
        children.push({ id: e.child, lo: e.key, hi: undefined, depth: w.depth + 1, path: [...w.path, w.id] });
      }
      for (let i = 0; i < children.length; i++)
        children[i]!.hi = i + 1 < children.length ? children[i + 1]!.lo : w.hi;
      stack.push(...children.reverse());
    }
  }

  let unreachable = 0;
  if (freelistPersisted) {
    for (let id = 2; id < hwm; id++) {
      if (!reached[id] && !free[id]) {
        unreachable++;
        report(id, 'unreachable unfreed');
      }
    }
  }
  let inUse = 0;
  for (let id = 0; id < hwm; id++) if (reached[id]) inUse++;
  return {
    ok: problems.length === 0 && moreProblems === 0,
    problems,
    moreProblems,
    highWaterMark: hwm,
    pageSize: db.pageSize,
    pagesInUse: inUse,
    pagesFree: freelistPersisted ? freeCount : hwm - inUse,
    freelistPersisted,
    buckets: buckets - 1 + (unreachable ? 0 : 0),
  };
}
