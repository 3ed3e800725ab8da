/**
 * etcd's MVCC view over the `key` bucket (formats.md §2.2), with etcd's revision rules:
 *   compacted = max(finishedCompactRev, scheduledCompactRev)
 *   current   = max(main revision of the last key-bucket entry, compacted)
 *   R < compacted → "required revision has been compacted"; R > current → "required revision is a future
 *   revision"; R = compacted is allowed; R ≤ 0 means current.
 * The key bucket is ordered by revision, not by key, so a read at R scans the entries up to R once (keys
 * only, values untouched), keeps the latest revision of each key in range, then fetches the chosen
 * entries by seeking. Entries with an empty etcd key (the marker `etcdutl snapshot restore --bump-revision
 * --mark-compacted` writes) are never shown as keys.
 */
import type { BoltDb, Bucket, LeafEntry } from '../bbolt/index.js';
import { NotFoundError } from '../util/errors.js';
import { decodeEntryKeyValue, decodeKeyValue, entryKey, type KeyValue } from './kv.js';
import type { EtcdMeta } from './meta.js';
import { WireError } from './proto-wire.js';
import { isTombstoneKey, parseRevisionKey, REV_BYTES_LEN, revMain } from './revision.js';
import { Buckets } from './schema.js';

/** A revision the file cannot answer for (compacted away, or after its last revision). */
export class RevisionUnavailableError extends NotFoundError {
  constructor(
    readonly revision: bigint,
    readonly reason: 'compacted' | 'future',
    readonly compactRevision: bigint,
    readonly currentRevision: bigint,
    file: string,
  ) {
    super(`revision ${revision}`, file);
    this.message =
      reason === 'compacted'
        ? `${file}: mvcc: required revision has been compacted (revision ${revision}, compacted at ${compactRevision})`
        : `${file}: mvcc: required revision is a future revision (revision ${revision}, current revision ${currentRevision})`;
  }
}

export interface RangeOptions {
  key: Buffer;
  /** etcd range_end: empty/undefined = the single key; [0x00] = every key ≥ key; otherwise [key, rangeEnd). */
  rangeEnd?: Buffer | undefined;
  /** Revision to read at; 0 or undefined = current. */
  revision?: bigint | undefined;
  keysOnly?: boolean;
  countOnly?: boolean;
  /** Maximum number of kvs to return (0 = no limit). */
  limit?: number;
}

export interface RangeResult {
  /** The revision that was read (after resolving 0 to current). */
  revision: bigint;
  /** etcd's header revision: the current revision of the store. */
  currentRevision: bigint;
  kvs: KeyValue[];
  /** Number of keys in the range (before the limit). */
  count: number;
  /** True when the limit cut the list. */
  more: boolean;
}

export interface HistoryEntry {
  main: bigint;
  sub: bigint;
  type: 'put' | 'delete';
  kv: KeyValue;
}

export interface KeyHistory {
  key: Buffer;
  compactRevision: bigint;
  revisions: HistoryEntry[];
}

export interface LiveOptions {
  key?: Buffer;
  rangeEnd?: Buffer | undefined;
  keysOnly?: boolean;
  /** 'key' (default): ascending key order, like etcd ranges; 'revision': file order, one sequential pass. */
  order?: 'key' | 'revision';
  /**
   * Large values are read into one reused buffer: each yielded value is valid only until the next
   * iteration step. For consumers that write each value out at once (avoids allocating every value).
   */
  transient?: boolean;
}

/** Whether `k` lies in etcd's range [key, rangeEnd). */
export function inRange(k: Buffer, key: Buffer, rangeEnd: Buffer | undefined): boolean {
  if (!rangeEnd || rangeEnd.length === 0) return k.equals(key);
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return Buffer.compare(k, key) >= 0;
  return Buffer.compare(k, key) >= 0 && Buffer.compare(k, rangeEnd) < 0;
}

/** etcd's prefix range end (clientv3.GetPrefixRangeEnd): increment the last byte below 0xff. */
export function prefixRangeEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

interface Latest {
  /** Revision key, 17 bytes (tombstone mark stripped). */
  rev: Buffer;
  tombstone: boolean;
}

export class MvccView {
  readonly compactRevision: bigint;
  readonly currentRevision: bigint;
  /** Main revision of the last entry in the key bucket (etcdutl's `revision`), 0 when empty. */
  readonly lastRevision: bigint;
  private readonly keys: Bucket | undefined;

  constructor(
    readonly db: BoltDb,
    meta: EtcdMeta,
  ) {
    this.keys = db.bucket(Buckets.key);
    const f = meta.finishedCompactRevision ?? 0n;
    const s = meta.scheduledCompactRevision ?? 0n;
    this.compactRevision = f > s ? f : s;
    const last = this.keys?.cursor().last();
    this.lastRevision = last ? this.parseRev(last).main : 0n;
    this.currentRevision =
      this.lastRevision > this.compactRevision ? this.lastRevision : this.compactRevision;
  }

  private get file(): string {
    return this.db.file.path;
  }

  private parseRev(e: LeafEntry) {
    const r = parseRevisionKey(e.key);
    if (typeof r === 'string') throw this.db.corrupt(`bucket key: ${r}`, `page ${e.page.pgid}`);
    return r;
  }

  private keyOf(e: LeafEntry): Buffer {
    try {
      return entryKey(e);
    } catch (err) {
      if (err instanceof WireError) throw this.badValue(e, err);
      throw err;
    }
  }

  private kvOf(e: LeafEntry, withValue: boolean, scratch?: { buf: Buffer }): KeyValue {
    try {
      if (withValue && scratch) return decodeKeyValue(e.page.transient(e.valueOffset, e.valueSize, scratch));
      return decodeEntryKeyValue(e, withValue);
    } catch (err) {
      if (err instanceof WireError) throw this.badValue(e, err);
      throw err;
    }
  }

  private badValue(e: LeafEntry, err: Error): Error {
    const r = parseRevisionKey(e.key);
    const rev = typeof r === 'string' ? '?' : `${r.main}_${r.sub}`;
    return this.db.corrupt(
      `bucket key, revision ${rev}: value is not an mvccpb.KeyValue: ${err.message}`,
      `page ${e.page.pgid}`,
    );
  }

  /** Resolves 0 to current and refuses compacted and future revisions, as etcd does. */
  resolveRevision(revision: bigint | undefined): bigint {
    const r = revision ?? 0n;
    if (r <= 0n) return this.currentRevision;
    if (r < this.compactRevision) {
      throw new RevisionUnavailableError(
        r,
        'compacted',
        this.compactRevision,
        this.currentRevision,
        this.file,
      );
    }
    if (r > this.currentRevision) {
      throw new RevisionUnavailableError(r, 'future', this.compactRevision, this.currentRevision, this.file);
    }
    return r;
  }

  /** Every entry of the key bucket in file (revision) order. */
  *entries(): IterableIterator<LeafEntry> {
    if (!this.keys) return;
    yield* this.keys.entries();
  }

  /**
   * The latest revision ≤ rev of each key passing `filter` (keys as latin1 strings, i.e. one char per
   * byte, so JS string order is byte order). With `includeEmpty`, the empty key (bump marker) is kept.
   */
  latestByKey(
    rev: bigint,
    filter: ((k: Buffer) => boolean) | undefined,
    includeEmpty = false,
  ): Map<string, Latest> {
    const latest = new Map<string, Latest>();
    if (!this.keys) return latest;
    const c = this.keys.cursor();
    for (let e = c.first(); e; e = c.next()) {
      const r = this.parseRev(e);
      if (r.main > rev) break;
      const k = this.keyOf(e);
      if (k.length === 0 && !includeEmpty) continue;
      if (filter && !filter(k)) continue;
      latest.set(k.toString('latin1'), {
        rev: Buffer.from(e.key.subarray(0, REV_BYTES_LEN)),
        tombstone: r.tombstone,
      });
    }
    return latest;
  }

  /** The entry stored at a revision key (17 bytes; tries the tombstone form too). */
  entryAt(rev17: Buffer): LeafEntry | undefined {
    const e = this.keys?.cursor().seek(rev17);
    if (!e || e.key.length < REV_BYTES_LEN || !e.key.subarray(0, REV_BYTES_LEN).equals(rev17))
      return undefined;
    return e;
  }

  /** etcd's Range at a revision, with etcdctl get's options. */
  range(o: RangeOptions): RangeResult {
    const revision = this.resolveRevision(o.revision);
    const latest = this.latestByKey(revision, (k) => inRange(k, o.key, o.rangeEnd));
    const live: [string, Latest][] = [];
    for (const kv of latest) if (!kv[1].tombstone) live.push(kv);
    live.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const count = live.length;
    const limit = o.limit && o.limit > 0 ? o.limit : count;
    const kvs: KeyValue[] = [];
    if (!o.countOnly) {
      for (const [, l] of live.slice(0, limit)) kvs.push(this.fetch(l.rev, !o.keysOnly));
    }
    return {
      revision,
      currentRevision: this.currentRevision,
      kvs,
      count,
      more: !o.countOnly && count > limit,
    };
  }

  /** The live key-values in [key, rangeEnd) at a revision (0 = current), with values. */
  rangeAt(revision: bigint, key: Buffer, rangeEnd?: Buffer): KeyValue[] {
    return this.range({ key, rangeEnd, revision }).kvs;
  }

  private fetch(rev17: Buffer, withValue: boolean, scratch?: { buf: Buffer }): KeyValue {
    const e = this.entryAt(rev17);
    if (!e) throw this.db.corrupt(`revision ${revMain(rev17)} vanished between two reads`, 'bucket key');
    return this.kvOf(e, withValue, scratch);
  }

  /**
   * Streams every live key at a revision (with values unless keysOnly), without holding all values in
   * memory: one pass collects the latest revision of each key, then entries are read one at a time.
   */
  *liveAt(revision: bigint | undefined, o: LiveOptions = {}): IterableIterator<KeyValue> {
    const rev = this.resolveRevision(revision);
    const filter = o.key ? (k: Buffer) => inRange(k, o.key!, o.rangeEnd) : undefined;
    const latest = this.latestByKey(rev, filter);
    const scratch = o.transient ? { buf: Buffer.allocUnsafe(1 << 20) } : undefined;
    if (o.order === 'revision') {
      const wanted = new Set<string>();
      for (const l of latest.values()) if (!l.tombstone) wanted.add(l.rev.toString('latin1'));
      latest.clear();
      const c = this.keys!.cursor();
      for (let e = c.first(); e && wanted.size > 0; e = c.next()) {
        if (revMain(e.key) > rev) break;
        const id = e.key.subarray(0, REV_BYTES_LEN).toString('latin1');
        if (!wanted.has(id)) continue;
        wanted.delete(id);
        yield this.kvOf(e, !o.keysOnly, scratch);
      }
      return;
    }
    const live: [string, Buffer][] = [];
    for (const [k, l] of latest) if (!l.tombstone) live.push([k, l.rev]);
    latest.clear();
    live.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    // Many keys: one sequential pass picks up the small entries (up to a memory budget) so that only the
    // large ones need a seek each; few keys: seek each.
    const pre = live.length > 256 ? this.prefetch(live, rev, !o.keysOnly) : undefined;
    for (const [, rev17] of live) {
      const id = rev17.toString('latin1');
      const got = pre?.get(id);
      if (got) {
        pre!.delete(id);
        yield got;
      } else yield this.fetch(rev17, !o.keysOnly, scratch);
    }
  }

  private prefetch(live: [string, Buffer][], rev: bigint, withValue: boolean): Map<string, KeyValue> {
    const SMALL = 64 << 10;
    let budget = 128 << 20;
    const wanted = new Set<string>();
    for (const [, r] of live) wanted.add(r.toString('latin1'));
    const got = new Map<string, KeyValue>();
    const c = this.keys!.cursor();
    for (let e = c.first(); e && wanted.size > 0 && budget > 0; e = c.next()) {
      if (revMain(e.key) > rev) break;
      const id = e.key.subarray(0, REV_BYTES_LEN).toString('latin1');
      if (!wanted.has(id)) continue;
      wanted.delete(id);
      if (withValue && e.valueSize > SMALL) continue;
      const kv = this.kvOf(e, withValue);
      if (kv.value) kv.value = Buffer.from(kv.value);
      budget -= (withValue ? e.valueSize : 0) + 200;
      got.set(id, kv);
    }
    return got;
  }

  /** Number of live keys at the current revision (what etcdutl 3.6 calls totalKey). */
  liveKeyCount(): number {
    let n = 0;
    for (const l of this.latestByKey(this.currentRevision, undefined).values()) if (!l.tombstone) n++;
    return n;
  }

  /** Every retained revision of one key, deletions included, oldest first. */
  history(key: Buffer): KeyHistory {
    const revisions: HistoryEntry[] = [];
    if (this.keys) {
      const c = this.keys.cursor();
      for (let e = c.first(); e; e = c.next()) {
        const k = this.keyOf(e);
        if (!k.equals(key)) continue;
        const r = this.parseRev(e);
        revisions.push({
          main: r.main,
          sub: r.sub,
          type: r.tombstone ? 'delete' : 'put',
          kv: this.kvOf(e, true),
        });
      }
    }
    return { key, compactRevision: this.compactRevision, revisions };
  }

  /** True when the entry is a tombstone. */
  static isTombstone(e: LeafEntry): boolean {
    return isTombstoneKey(e.key);
  }
}
