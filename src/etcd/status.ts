/**
 * `etcdutl snapshot status` values (formats.md §2.5) with etcd 3.5's semantics:
 *   hash      = CRC-32C over, for each top-level bucket in order, its name, then every key and value;
 *   revision  = main revision of the last key-bucket entry;
 *   totalKey  = every entry of every bucket (3.5); liveKeys = what 3.6 calls totalKey (puts minus deletes);
 *   totalSize = meta.pgid × pageSize.
 */
import { BUCKET_LEAF_FLAG } from '../bbolt/page.js';
import { isBucketEntry, newLeafInfo, type BoltDb, type Page } from '../bbolt/index.js';
import { crc32c } from './crc32c.js';
import { decodeEntryKeyValue, decodeKeyValue, keyField, scanKeyField } from './kv.js';
import { WireError } from './proto-wire.js';
import { parseRevisionKey, REV_BYTES_LEN, type RevisionKey } from './revision.js';
import { Buckets } from './schema.js';

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

/** Bytes per read of a large page: fits the CPU cache, so the CRC reads what the read just wrote. */
const CHUNK = 256 << 10;

export function computeHashStatus(db: BoltDb): HashStatus {
  let h = 0;
  let totalKey = 0;
  let revision = 0n;
  const live = new Set<string>();
  const scratch = { buf: Buffer.allocUnsafe(CHUNK) };
  const info = newLeafInfo();
  const root = db.root();
  for (const be of root.entries()) {
    if (!isBucketEntry(be)) {
      throw db.corrupt(
        `top-level entry ${JSON.stringify(be.key.toString('latin1'))} is not a bucket`,
        `page ${be.page.pgid}`,
      );
    }
    const b = root.bucketOf(be);
    h = crc32c(be.key, h);
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
          h = crc32c(el.key, h);
          totalKey++;
          if ((el.flags & BUCKET_LEAF_FLAG) !== 0) continue;
          const v = p.transient(el.valueOffset, el.valueSize, scratch);
          h = crc32c(v, h);
          if (isKey) revision = keyEntry(db, p, i, el.key, 0, el.key.length, v, 0, v.length, live);
        }
        continue;
      }
      totalKey += n;
      if (end <= p.loadedLength) {
        const data = p.loaded;
        h = crc32c(data.subarray(first, end), h);
        if (!isKey) continue;
        for (let i = 0; i < n; i++) {
          p.leafInfo(i, info);
          const ko = info.keyOffset;
          const vo = ko + info.keySize;
          revision = keyEntry(db, p, i, data, ko, vo, data, vo, vo + info.valueSize, live);
        }
        continue;
      }
      // A page with overflow (large values): read it in pieces small enough to stay in the CPU cache
      // between the read and the CRC.
      for (let off = first; off < end; off += CHUNK) {
        h = crc32c(p.transient(off, Math.min(CHUNK, end - off), scratch), h);
      }
      if (!isKey) continue;
      const buf = p.loaded;
      for (let i = 0; i < n; i++) {
        p.leafInfo(i, info);
        const ko = info.keyOffset;
        const vo = ko + info.keySize;
        const ve = vo + info.valueSize;
        const key = vo <= buf.length ? buf : p.peek(ko, info.keySize);
        const ks = key === buf ? ko : 0;
        if (ve <= buf.length) revision = keyEntry(db, p, i, key, ks, ks + info.keySize, buf, vo, ve, live);
        else revision = keyEntry(db, p, i, key, ks, ks + info.keySize, undefined, 0, 0, live);
      }
    }
  }
  return { hash: h >>> 0, revision, totalKey, liveKeys: live.size, totalSize: db.dataSize };
}

/** One key-bucket entry: validates the revision key, updates the live set; returns the main revision. */
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
  live: Set<string>,
): bigint {
  const klen = ke - ks;
  let main: bigint;
  let tombstone: boolean;
  if (
    (klen === REV_BYTES_LEN || (klen === REV_BYTES_LEN + 1 && kb[ks + 17] === 0x74)) &&
    kb[ks + 8] === 0x5f &&
    kb[ks]! < 0x80 &&
    kb[ks + 9]! < 0x80
  ) {
    main = kb.readBigInt64BE(ks);
    tombstone = klen !== REV_BYTES_LEN;
  } else {
    const r = parseRevisionKey(kb.subarray(ks, ke));
    if (typeof r === 'string') throw db.corrupt(`bucket key: ${r}`, `page ${p.pgid}`);
    main = r.main;
    tombstone = r.tombstone;
  }
  let k: string;
  if (vb && scanKeyField(vb, vs, ve)) k = vb.toString('latin1', keyField.start, keyField.end);
  else {
    try {
      if (vb) k = decodeKeyValue(vb.subarray(vs, ve)).key.toString('latin1');
      else {
        const el = p.leafElement(index);
        const e = {
          key: el.key,
          flags: el.flags,
          page: p,
          valueOffset: el.valueOffset,
          valueSize: el.valueSize,
        };
        k = decodeEntryKeyValue(e, false).key.toString('latin1');
      }
    } catch (err) {
      if (err instanceof WireError) {
        const r = parseRevisionKey(kb.subarray(ks, ke)) as RevisionKey;
        throw db.corrupt(`bucket key, revision ${r.main}_${r.sub}: ${err.message}`, `page ${p.pgid}`);
      }
      throw err;
    }
  }
  if (tombstone) live.delete(k);
  else live.add(k);
  return main;
}
