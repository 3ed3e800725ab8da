/**
 * `etcdutl snapshot status` values (formats.md §2.5) with etcd 3.5's semantics:
 *   hash      = CRC-32C over, for each top-level bucket in order, its name, then every key and value;
 *   revision  = main revision of the last key-bucket entry;
 *   totalKey  = every entry of every bucket (3.5); liveKeys = what 3.6 calls totalKey (puts minus deletes);
 *   totalSize = meta.pgid × pageSize.
 */
import { BUCKET_LEAF_FLAG } from '../bbolt/page.js';
import { isBucketEntry, newLeafInfo, type BoltDb, type Page } from '../bbolt/index.js';
import { RangeCrc, type RangeCrcOptions } from './crc-ranges.js';
import { decodeEntryKeyValue, decodeKeyValue, keyField, scanKeyField } from './kv.js';
import { WireError } from './proto-wire.js';
import { isWellFormedRevisionKey, parseRevisionKey, REV_BYTES_LEN, type RevisionKey } from './revision.js';
import { Buckets } from './schema.js';
import { ByteKeySet } from './key-set.js';

export interface HashStatus {
  /** CRC-32C as etcdutl prints it (a uint32). */
  hash: number;
  revision: bigint;
  /** etcd 3.5's totalKey: all entries of all buckets. */
  totalKey: number;
  /**
   * etcd 3.6's totalKey: keys alive at the last revision. Like etcdutl 3.6 it counts the empty key of the
   * marker `snapshot restore --bump-revision` writes (key listings never show it).
   */
  liveKeys: number;
  totalSize: bigint;
}

export interface PendingHashStatus {
  /** Waits for the CRC of the large values (computed on a helper thread) and returns the status. */
  finish(): HashStatus;
  /** Stops the helper thread without a result (after an error elsewhere). */
  abort(): void;
}

/** Walks the database and returns the status; see `startHashStatus`. */
export function computeHashStatus(db: BoltDb, options: RangeCrcOptions = {}): HashStatus {
  return startHashStatus(db, options).finish();
}

/**
 * Walks every bucket in etcdutl's order. Bytes on pages already read are checksummed at once; large values
 * (overflow pages) are queued as file ranges for a helper thread, so the caller can do other work (the
 * structural check) before `finish()` joins in and combines the pieces.
 */
export function startHashStatus(db: BoltDb, options: RangeCrcOptions = {}): PendingHashStatus {
  const crc = new RangeCrc(db.file, options);
  try {
    const partial = walk(db, crc);
    return {
      finish: () => ({ ...partial, hash: crc.finish() }),
      abort: () => crc.close(),
    };
  } catch (e) {
    crc.close();
    throw e;
  }
}

function walk(db: BoltDb, crc: RangeCrc): Omit<HashStatus, 'hash'> {
  let totalKey = 0;
  const live = new ByteKeySet();
  const scratch = { buf: Buffer.allocUnsafe(64 << 10) };
  const info = newLeafInfo();
  const ps = db.pageSize;
  const root = db.root();
  for (const be of root.entries()) {
    if (!isBucketEntry(be)) {
      throw db.corrupt(
        `top-level entry ${JSON.stringify(be.key.toString('latin1'))} is not a bucket`,
        `page ${be.page.pgid}`,
      );
    }
    const b = root.bucketOf(be);
    crc.bytes(be.key);
    const isKey = be.key.toString('latin1') === Buckets.key;
    for (const p of b.leafPages()) {
      const n = p.count;
      if (n === 0) continue;
      // bbolt writes each leaf's keys and values back to back in element order, so the CRC of
      // key0 value0 key1 value1 ... is one CRC over one contiguous range of the page.
      let first = 0;
      let end = 0;
      let contiguous = true;
      for (let i = 0; i < n; i++) {
        p.leafInfo(i, info);
        if (i === 0) first = end = info.keyOffset;
        if (info.keyOffset !== end || (info.flags & BUCKET_LEAF_FLAG) !== 0) {
          contiguous = false;
          break;
        }
        end = info.keyOffset + info.keySize + info.valueSize;
      }
      if (!contiguous || end > p.fullLength) {
        for (let i = 0; i < n; i++) {
          const el = p.leafElement(i);
          crc.bytes(el.key);
          totalKey++;
          if ((el.flags & BUCKET_LEAF_FLAG) !== 0) continue;
          const v = p.transient(el.valueOffset, el.valueSize, scratch);
          crc.bytes(v);
          if (isKey) keyEntry(db, p, i, el.key, 0, el.key.length, v, 0, v.length, live);
        }
        continue;
      }
      totalKey += n;
      if (end <= p.loadedLength) {
        const data = p.loaded;
        crc.bytes(data.subarray(first, end));
        if (!isKey) continue;
        for (let i = 0; i < n; i++) {
          p.leafInfo(i, info);
          const ko = info.keyOffset;
          const vo = ko + info.keySize;
          keyEntry(db, p, i, data, ko, vo, data, vo, vo + info.valueSize, live);
        }
        continue;
      }
      // A page with overflow (large values): a file range (inside the file: db.page checked the overflow).
      crc.fileRange(p.pgid * ps + first, end - first);
      if (!isKey) continue;
      const buf = p.loaded;
      for (let i = 0; i < n; i++) {
        p.leafInfo(i, info);
        const ko = info.keyOffset;
        const vo = ko + info.keySize;
        const ve = vo + info.valueSize;
        const key = vo <= buf.length ? buf : p.peek(ko, info.keySize);
        const ks = key === buf ? ko : 0;
        if (ve <= buf.length) keyEntry(db, p, i, key, ks, ks + info.keySize, buf, vo, ve, live);
        else keyEntry(db, p, i, key, ks, ks + info.keySize, undefined, 0, 0, live);
      }
    }
  }
  // The key bucket is in revision order: the last entry has the highest main revision.
  const last = db.bucket(Buckets.key)?.cursor().last();
  let revision = 0n;
  if (last) {
    const r = parseRevisionKey(last.key);
    if (typeof r === 'string') throw db.corrupt(`bucket key: ${r}`, `page ${last.page.pgid}`);
    revision = r.main;
  }
  return { revision, totalKey, liveKeys: live.live, totalSize: db.dataSize };
}

/** One key-bucket entry: validates the revision key and marks its key alive or deleted. */
function keyEntry(
  db: BoltDb,
  p: Page,
  index: number,
  kb: Buffer,
  ks: number,
  ke: number,
  /** The value's bytes, or undefined when they are not loaded (then only its fields are read). */
  vb: Buffer | undefined,
  vs: number,
  ve: number,
  live: ByteKeySet,
): void {
  const klen = ke - ks;
  let tombstone: boolean;
  if (isWellFormedRevisionKey(kb, ks, klen)) {
    tombstone = klen !== REV_BYTES_LEN;
  } else {
    const r = parseRevisionKey(kb.subarray(ks, ke));
    if (typeof r === 'string') throw db.corrupt(`bucket key: ${r}`, `page ${p.pgid}`);
    tombstone = r.tombstone;
  }
  if (vb && scanKeyField(vb, vs, ve)) {
    live.mark(vb, keyField.start, keyField.end, !tombstone);
    return;
  }
  let key: Buffer;
  try {
    if (vb) key = decodeKeyValue(vb.subarray(vs, ve)).key;
    else {
      const el = p.leafElement(index);
      const e = {
        key: el.key,
        flags: el.flags,
        page: p,
        valueOffset: el.valueOffset,
        valueSize: el.valueSize,
      };
      key = decodeEntryKeyValue(e, false).key;
    }
  } catch (err) {
    if (err instanceof WireError) {
      const r = parseRevisionKey(kb.subarray(ks, ke)) as RevisionKey;
      throw db.corrupt(`bucket key, revision ${r.main}_${r.sub}: ${err.message}`, `page ${p.pgid}`);
    }
    throw err;
  }
  live.mark(key, 0, key.length, !tombstone);
}
