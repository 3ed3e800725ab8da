/**
 * etcd's HashKV at a revision (server/storage/mvcc hash: hashByRev / kvHasher), computed from the file as
 * an etcd that opened it would: CRC-32C over the bytes "key", then the revision key and value of every
 * key-bucket entry with main ≤ rev, where entries with main ≤ compactRev are included only when they are
 * in keep(rev) — the latest revision ≤ rev of each key, when that is not a deletion — and (etcd ≥ 3.5.16,
 * 3.4.34, 3.6) a tombstone at exactly compactRev is skipped. compactRev is -1 when nothing was compacted.
 *
 * This is the hash an etcd computes after opening the file (HashKV at revision 0, or at any revision that
 * is not a compaction revision). A running etcd asked for exactly a revision it compacted at answers from a
 * hash it cached while compacting (over the entries from before the compaction, with compact_revision =
 * the previous compaction); a compacted file no longer holds those entries.
 */
import { crc32c } from './crc32c.js';
import type { MvccView } from './mvcc.js';
import { isTombstoneKey, REV_BYTES_LEN, revMain } from './revision.js';
import { Buckets } from './schema.js';

export interface HashKVResult {
  hash: number;
  /** The revision hashed (hash_revision). */
  revision: bigint;
  /** compact_revision as etcd reports it (-1 when never compacted). */
  compactRevision: bigint;
}

export interface HashKVOptions {
  /** Skip a tombstone at exactly the compact revision (etcd ≥ 3.5.16 / 3.4.34 / 3.6). Default true. */
  skipTombstoneAtCompactRevision?: boolean;
}

export function hashKV(view: MvccView, revision: bigint = 0n, o: HashKVOptions = {}): HashKVResult {
  const rev = view.resolveRevision(revision);
  const compactRev = view.compactRevision > 0n ? view.compactRevision : -1n;
  const skipTomb = o.skipTombstoneAtCompactRevision ?? true;
  const keep = new Set<string>();
  for (const l of view.latestByKey(rev, undefined, true).values()) {
    if (!l.tombstone) keep.add(l.rev.toString('latin1'));
  }
  let h = crc32c(Buffer.from(Buckets.key));
  const scratch = { buf: Buffer.allocUnsafe(1 << 20) };
  for (const e of view.entries()) {
    const main = revMain(e.key);
    if (main > rev) break;
    if (main <= compactRev && keep.size > 0 && !keep.has(e.key.subarray(0, REV_BYTES_LEN).toString('latin1')))
      continue;
    if (skipTomb && main === compactRev && isTombstoneKey(e.key)) continue;
    h = crc32c(e.key, h);
    h = crc32c(e.page.transient(e.valueOffset, e.valueSize, scratch), h);
  }
  return { hash: h >>> 0, revision: rev, compactRevision: compactRev };
}
