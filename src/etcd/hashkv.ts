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
import { RangeCrc, type RangeCrcOptions } from './crc-ranges.js';
import type { MvccView } from './mvcc.js';
import { isTombstoneKey, revMain } from './revision.js';
import { Buckets } from './schema.js';

export interface HashKVResult {
  hash: number;
  /** The revision hashed (hash_revision). */
  revision: bigint;
  /** compact_revision as etcd reports it (-1 when never compacted). */
  compactRevision: bigint;
}

export interface HashKVOptions extends RangeCrcOptions {
  /** Skip a tombstone at exactly the compact revision (etcd ≥ 3.5.16 / 3.4.34 / 3.6). Default true. */
  skipTombstoneAtCompactRevision?: boolean;
}

export function hashKV(view: MvccView, revision: bigint = 0n, o: HashKVOptions = {}): HashKVResult {
  const rev = view.resolveRevision(revision);
  const compactRev = view.compactRevision > 0n ? view.compactRevision : -1n;
  const skipTomb = o.skipTombstoneAtCompactRevision ?? true;
  // Locators (page, element) of the latest revision ≤ rev of each key, when not a deletion. Consulted only
  // for entries at or below a compaction: a file never compacted needs no walk for them.
  const keep = new Set<number>();
  if (compactRev > 0n) {
    const latest = view.latestLocatorsByBytes(rev, undefined, undefined, undefined, true);
    for (let j = 0; j < latest.size; j++) {
      const l = latest.valueAt(j);
      if (l % 2 === 0) keep.add(l / 2);
    }
  }
  const db = view.db;
  const ps = db.pageSize;
  // Large values (overflow pages) are checksummed as file ranges on a helper thread (see crc-ranges.ts).
  const crc = new RangeCrc(db.file, o);
  try {
    crc.bytes(Buffer.from(Buckets.key));
    const scratch = { buf: Buffer.allocUnsafe(1 << 20) };
    view.visitEntries(rev, (p, info, loc) => {
      const key = p.peek(info.keyOffset, info.keySize);
      const main = revMain(key);
      if (main <= compactRev && keep.size > 0 && !keep.has(loc)) return;
      if (skipTomb && main === compactRev && isTombstoneKey(key)) return;
      // The value follows its key in the page: one CRC over both.
      const len = info.keySize + info.valueSize;
      const end = info.keyOffset + len;
      if (end <= p.loadedLength) crc.bytes(p.loaded.subarray(info.keyOffset, end));
      else if (end <= p.fullLength && p.loadedLength < p.fullLength)
        crc.fileRange(p.pgid * ps + info.keyOffset, len);
      else crc.bytes(p.transient(info.keyOffset, len, scratch));
    });
    return { hash: crc.finish(), revision: rev, compactRevision: compactRev };
  } finally {
    crc.close();
  }
}
