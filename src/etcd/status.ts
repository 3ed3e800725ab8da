/**
 * `etcdutl snapshot status` values (formats.md §2.5) with etcd 3.5's semantics:
 *   hash      = CRC-32C over, for each top-level bucket in order, its name, then every key and value;
 *   revision  = main revision of the last key-bucket entry;
 *   totalKey  = every entry of every bucket (3.5); liveKeys = what 3.6 calls totalKey (puts minus deletes);
 *   totalSize = meta.pgid × pageSize.
 */
import { isBucketEntry, type BoltDb } from '../bbolt/index.js';
import { crc32c } from './crc32c.js';
import { decodeKeyValue } from './kv.js';
import { WireError } from './proto-wire.js';
import { parseRevisionKey } from './revision.js';
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

export function computeHashStatus(db: BoltDb): HashStatus {
  let h = 0;
  let totalKey = 0;
  let revision = 0n;
  const live = new Set<string>();
  const scratch = { buf: Buffer.allocUnsafe(1 << 20) };
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
    for (const e of b.entries()) {
      h = crc32c(e.key, h);
      totalKey++;
      if (isBucketEntry(e)) continue;
      const v = e.page.transient(e.valueOffset, e.valueSize, scratch);
      h = crc32c(v, h);
      if (isKey) {
        const r = parseRevisionKey(e.key);
        if (typeof r === 'string') throw db.corrupt(`bucket key: ${r}`, `page ${e.page.pgid}`);
        revision = r.main;
        let k: Buffer;
        try {
          k = decodeKeyValue(v).key;
        } catch (err) {
          if (err instanceof WireError) {
            throw db.corrupt(
              `bucket key, revision ${r.main}_${r.sub}: ${err.message}`,
              `page ${e.page.pgid}`,
            );
          }
          throw err;
        }
        if (r.tombstone) live.delete(k.toString('latin1'));
        else live.add(k.toString('latin1'));
      }
    }
  }
  return { hash: h >>> 0, revision, totalKey, liveKeys: live.size, totalSize: db.dataSize };
}
