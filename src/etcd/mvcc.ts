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
import {
  newLeafInfo,
  PageFlag,
  type BoltDb,
  type Bucket,
  type LeafEntry,
  type LeafInfo,
  type Page,
} from '../bbolt/index.js';
import { NotFoundError } from '../util/errors.js';
import {
  decodeEntryKeyValue,
  decodeKeyValue,
  decodeKeyValueAt,
  entryKey,
  keyField,
  leadingKeyField,
  scanKeyField,
  type KeyValue,
} from './kv.js';
import type { EtcdMeta } from './meta.js';
import { WireError } from './proto-wire.js';
import {
  isTombstoneKey,
  isWellFormedRevisionKey,
  parseRevisionKey,
  REV_BYTES_LEN,
  revMain,
} from './revision.js';
import { Buckets } from './schema.js';
import { ByteKeyMap } from './key-set.js';

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

const EMPTY_KEY = Buffer.alloc(0);

/** 0: every key; 1: exactly `key`; 2: `key` and after (rangeEnd NUL); 3: [key, rangeEnd). */
function rangeMode(key: Buffer | undefined, rangeEnd: Buffer | undefined): 0 | 1 | 2 | 3 {
  if (!key) return 0;
  if (!rangeEnd || rangeEnd.length === 0) return 1;
  return rangeEnd.length === 1 && rangeEnd[0] === 0 ? 2 : 3;
}

/** Locators: page id × LOCATOR_PAGE + element index (a leaf holds at most 65535 elements). */
const LOCATOR_PAGE = 65536;
/** Page ids below this keep (locator × 2 + 1) an exact JS number. */
const LOCATOR_MAX_PGID = 2 ** 35;
const LEAF_ONLY = [PageFlag.leaf];
/** Bytes of a value read with its revision key when the entry lies past a page's loaded part. */
const VALUE_HEAD = 256;

/** Key listings sort and de-duplicate their list of keys when it reaches this many entries (see liveKeysAt). */
const LIST_COMPACT_AT = 1 << 20;

/**
 * Sorts latin1 key strings (code-unit order is byte order) and drops repeats and the keys in `deleted`, in
 * place.
 */
function sortedUnique(keys: string[], deleted: Set<string> | undefined): string[] {
  keys.sort();
  let n = 0;
  let prev: string | undefined;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (k === prev) continue;
    prev = k;
    if (deleted && deleted.size !== 0 && deleted.has(k)) continue;
    keys[n++] = k;
  }
  keys.length = n;
  return keys;
}

/** Whether [key, rangeEnd) is etcd's "every key" range: key [0x00] with range end [0x00]. */
function isAllKeys(key: Buffer | undefined, rangeEnd: Buffer | undefined): boolean {
  return key?.length === 1 && key[0] === 0 && rangeEnd?.length === 1 && rangeEnd[0] === 0;
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

export class MvccView {
  readonly compactRevision: bigint;
  readonly currentRevision: bigint;
  /** Main revision of the last entry in the key bucket (etcdutl's `revision`), 0 when empty. */
  readonly lastRevision: bigint;
  private readonly keys: Bucket | undefined;
  /**
   * Passes made over the key bucket so far (each listing, range or lookup makes one: a snapshot has no index
   * from key to revision). For callers that must not make one per object, and their tests.
   */
  passes = 0;

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
   * One pass over the key bucket's leaf pages without an object per entry: for each entry with main
   * revision ≤ rev, in file order, calls `visit` with the KeyValue's key bytes (kb[ks, ke)) and the entry's
   * locator (page id × 65536 + element index, see `kvAtLocator`) times 2, plus 1 for a tombstone. Records
   * each page's position in the walk in `pageOrder` when given.
   */
  private scanEntries(
    rev: bigint,
    pageOrder: Map<number, number> | undefined,
    visit: (kb: Buffer, ks: number, ke: number, tagged: number) => void,
  ): void {
    if (!this.keys) return;
    this.passes++;
    const revHi = Number(rev >> 32n);
    const revLo = Number(rev & 0xffffffffn);
    const info = newLeafInfo();
    for (const p of this.keys.leafPages()) {
      const buf = p.loaded;
      const n = p.count;
      if (p.pgid >= LOCATOR_MAX_PGID)
        throw this.db.corrupt(`page id ${p.pgid} is too large`, `page ${p.pgid}`);
      pageOrder?.set(p.pgid, pageOrder.size);
      for (let i = 0; i < n; i++) {
        p.leafInfo(i, info);
        const ko = info.keyOffset;
        const klen = info.keySize;
        let kb = buf;
        let ks = ko;
        if (ko + klen > buf.length) {
          // The element lies past the loaded first page (after a large value): its revision key and the
          // start of its value come in one read.
          kb = p.peek(ko, klen + Math.min(info.valueSize, VALUE_HEAD));
          ks = 0;
        }
        if (!isWellFormedRevisionKey(kb, ks, klen)) this.parseRev(this.entryOf(p, i));
        // The main revision's two halves, big-endian (bytes in range: the key was checked above).
        const hi = kb[ks]! * 0x100_0000 + ((kb[ks + 1]! << 16) | (kb[ks + 2]! << 8) | kb[ks + 3]!);
        if (hi > revHi) return;
        if (hi === revHi) {
          const lo = kb[ks + 4]! * 0x100_0000 + ((kb[ks + 5]! << 16) | (kb[ks + 6]! << 8) | kb[ks + 7]!);
          if (lo > revLo) return;
        }
        const vo = ks + klen;
        const ve = vo + info.valueSize;
        const tagged = (p.pgid * LOCATOR_PAGE + i) * 2 + (klen === REV_BYTES_LEN ? 0 : 1);
        if (ve <= kb.length ? scanKeyField(kb, vo, ve) : leadingKeyField(kb, vo, kb.length))
          visit(kb, keyField.start, keyField.end, tagged);
        else {
          const k = this.keyOf(this.entryOf(p, i));
          visit(k, 0, k.length, tagged);
        }
      }
    }
  }

  /**
   * The latest revision ≤ rev of each key in [key, rangeEnd) (every key when `key` is undefined), keyed by
   * the key as a latin1 string, as a tagged locator (see `scanEntries`). With `includeEmpty`, the empty key
   * (bump marker) is kept. Internal (liveAt, hashKV).
   */
  latestLocators(
    rev: bigint,
    key: Buffer | undefined,
    rangeEnd: Buffer | undefined,
    includeEmpty = false,
  ): Map<string, number> {
    const latest = new Map<string, number>();
    const from = key?.toString('latin1');
    const mode = rangeMode(key, rangeEnd);
    const to = rangeEnd?.toString('latin1') ?? '';
    this.scanEntries(rev, undefined, (kb, ks, ke, tagged) => {
      if (ks === ke && !includeEmpty) return;
      const k = kb.toString('latin1', ks, ke);
      if (mode === 1 ? k !== from : mode === 2 ? k < from! : mode === 3 ? k < from! || k >= to : false)
        return;
      latest.set(k, tagged);
    });
    return latest;
  }

  /**
   * The tagged locators of the latest revision ≤ rev of each key in [key, rangeEnd), keys compared as bytes
   * and never turned into strings (for walks in file order, which need no key order). Internal (liveAt,
   * hashKV).
   */
  latestLocatorsByBytes(
    rev: bigint,
    key: Buffer | undefined,
    rangeEnd: Buffer | undefined,
    pageOrder?: Map<number, number>,
    includeEmpty = false,
  ): ByteKeyMap {
    const latest = new ByteKeyMap();
    const mode = rangeMode(key, rangeEnd);
    const from = key ?? EMPTY_KEY;
    const to = rangeEnd ?? EMPTY_KEY;
    this.scanEntries(rev, pageOrder, (kb, ks, ke, tagged) => {
      if (ks === ke && !includeEmpty) return;
      if (mode !== 0) {
        const c = kb.compare(from, 0, from.length, ks, ke);
        if (mode === 1 ? c !== 0 : c < 0) return;
        if (mode === 3 && kb.compare(to, 0, to.length, ks, ke) >= 0) return;
      }
      latest.set(kb, ks, ke, tagged);
    });
    return latest;
  }

  /**
   * Internal (hashKV): visits the key-bucket entries with main revision ≤ rev in file order, with each
   * one's page, element fields and locator (as in `latestLocators`). Revision keys are not validated here.
   */
  visitEntries(rev: bigint, visit: (p: Page, info: LeafInfo, loc: number) => void): void {
    if (!this.keys) return;
    const info = newLeafInfo();
    for (const p of this.keys.leafPages()) {
      const n = p.count;
      for (let i = 0; i < n; i++) {
        p.leafInfo(i, info);
        if (revMain(p.peek(info.keyOffset, 8)) > rev) return;
        visit(p, info, p.pgid * LOCATOR_PAGE + i);
      }
    }
  }

  private entryOf(p: Page, i: number): LeafEntry {
    const el = p.leafElement(i);
    return { key: el.key, flags: el.flags, page: p, valueOffset: el.valueOffset, valueSize: el.valueSize };
  }

  /** KeyValue of the entry at a locator; reads the whole value only when `withValue`. */
  private kvAtLocator(loc: number, withValue: boolean, scratch?: { buf: Buffer }): KeyValue {
    const pgid = Math.floor(loc / LOCATOR_PAGE);
    const i = loc - pgid * LOCATOR_PAGE;
    const p = this.keys!.inline ? this.keys!.rootPage() : this.db.page(pgid, LEAF_ONLY);
    const info = this.info;
    p.leafInfo(i, info);
    const vo = info.keyOffset + info.keySize;
    const ve = vo + info.valueSize;
    const buf = p.loaded;
    if (ve <= buf.length) {
      try {
        return decodeKeyValueAt(buf, vo, ve, withValue);
      } catch (err) {
        if (err instanceof WireError) throw this.badValue(this.entryOf(p, i), err);
        throw err;
      }
    }
    return this.kvOf(this.entryOf(p, i), withValue, scratch);
  }

  private readonly info = newLeafInfo();

  /** etcd's Range at a revision, with etcdctl get's options. */
  range(o: RangeOptions): RangeResult {
    const revision = this.resolveRevision(o.revision);
    const { keys, latest } = this.sortedLive(revision, o.key, o.rangeEnd);
    const count = keys.length;
    const limit = o.limit && o.limit > 0 ? o.limit : count;
    const kvs: KeyValue[] = [];
    if (!o.countOnly) {
      for (let j = 0; j < Math.min(limit, count); j++)
        kvs.push(this.kvAtLocator(latest.get(keys[j]!)! / 2, !o.keysOnly));
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

  /** The locators of the live entries in [key, rangeEnd) at rev, in file order (liveAt's 'revision' order). */
  private fileOrderLocators(
    rev: bigint,
    key: Buffer | undefined,
    rangeEnd: Buffer | undefined,
  ): Float64Array {
    const pageOrder = new Map<number, number>();
    const latest = this.latestLocatorsByBytes(rev, key, rangeEnd, pageOrder);
    // File order: by the page's position in the tree walk, then by element; computed once per entry and
    // sorted as numbers, then turned back into locators.
    const pages: number[] = [];
    for (const [pgid, at] of pageOrder) pages[at] = pgid;
    const ords = new Float64Array(latest.size);
    let n = 0;
    for (let j = 0; j < latest.size; j++) {
      const l = latest.valueAt(j);
      if (l % 2 !== 0) continue;
      const loc = l / 2;
      const pgid = Math.floor(loc / LOCATOR_PAGE);
      ords[n++] = pageOrder.get(pgid)! * LOCATOR_PAGE + (loc - pgid * LOCATOR_PAGE);
    }
    const sorted = ords.subarray(0, n).sort();
    for (let j = 0; j < n; j++) {
      const ord = sorted[j]!;
      const at = Math.floor(ord / LOCATOR_PAGE);
      sorted[j] = pages[at]! * LOCATOR_PAGE + (ord - at * LOCATOR_PAGE);
    }
    return sorted;
  }

  /**
   * The live entries of liveAt(revision, { …, order: 'revision' }) as positions in the file, for reading them
   * elsewhere with `atLocators` — e.g. on another thread, from another MvccView of the same file.
   */
  liveLocators(revision: bigint | undefined, o: { key?: Buffer; rangeEnd?: Buffer } = {}): Float64Array {
    return this.fileOrderLocators(this.resolveRevision(revision), o.key, o.key ? o.rangeEnd : undefined);
  }

  /** The key-values (with values) at locators[from, to) of `liveLocators` of a view of the same file. */
  *atLocators(locators: Float64Array, from = 0, to = locators.length): IterableIterator<KeyValue> {
    for (let j = from; j < to; j++) {
      const loc = locators[j]!;
      if (!Number.isSafeInteger(loc) || loc < 0)
        throw this.db.corrupt(`entry locator ${loc} is not one of this file`);
      yield this.kvAtLocator(loc, true);
    }
  }

  /**
   * Streams every live key at a revision (with values unless keysOnly), without holding all values in
   * memory: one pass collects the latest revision of each key, then entries are read one at a time.
   */
  *liveAt(revision: bigint | undefined, o: LiveOptions = {}): IterableIterator<KeyValue> {
    const rev = this.resolveRevision(revision);
    const scratch = o.transient ? { buf: Buffer.allocUnsafe(1 << 20) } : undefined;
    const withValue = !o.keysOnly;
    if (o.order === 'revision') {
      const locs = this.fileOrderLocators(rev, o.key, o.key ? o.rangeEnd : undefined);
      for (let j = 0; j < locs.length; j++) yield this.kvAtLocator(locs[j]!, withValue, scratch);
      return;
    }
    const { keys, latest } = this.sortedLive(rev, o.key, o.key ? o.rangeEnd : undefined);
    for (let j = 0; j < keys.length; j++)
      yield this.kvAtLocator(latest.get(keys[j]!)! / 2, withValue, scratch);
  }

  /** The live keys in [key, rangeEnd) at rev, ascending, with the map from each to its tagged locator. */
  private sortedLive(
    rev: bigint,
    key: Buffer | undefined,
    rangeEnd: Buffer | undefined,
  ): { keys: string[]; latest: Map<string, number> } {
    const latest = this.latestLocators(rev, key, rangeEnd);
    const keys: string[] = [];
    for (const kv of latest) if (kv[1] % 2 === 0) keys.push(kv[0]);
    // Keys are latin1 strings (one char per byte): the default sort's code-unit order is byte order.
    keys.sort();
    return { keys, latest };
  }

  /**
   * The live keys at a revision (0 = current) in [key, rangeEnd), ascending, as latin1 strings (one char
   * per byte): for key listings that print nothing else, without a KeyValue or map entry per key. Every
   * put's key is collected, then sorted (natively: the default sort's code-unit order of latin1 strings is
   * byte order) and de-duplicated; only keys whose latest entry so far is a tombstone are kept in a set (a
   * later put takes them out again). The list is also sorted and de-duplicated whenever it reaches
   * `compactAt` keys (default 2^20) or twice the keys it last held, so memory stays bounded by the number
   * of distinct keys when keys are overwritten many times.
   */
  liveKeysAt(
    revision: bigint | undefined,
    o: { key?: Buffer; rangeEnd?: Buffer; compactAt?: number } = {},
  ): string[] {
    const rev = this.resolveRevision(revision);
    const key = o.key;
    const rangeEnd = key ? o.rangeEnd : undefined;
    // [\0, \0): every non-empty key, like no range at all.
    const mode = isAllKeys(key, rangeEnd) ? 0 : rangeMode(key, rangeEnd);
    const from = key?.toString('latin1') ?? '';
    const to = rangeEnd?.toString('latin1') ?? '';
    const minCompact = o.compactAt ?? LIST_COMPACT_AT;
    let compactAt = minCompact;
    let keys: string[] = [];
    const deleted = new Set<string>();
    this.scanEntries(rev, undefined, (kb, ks, ke, tagged) => {
      if (ks === ke) return;
      const k = kb.toString('latin1', ks, ke);
      if (mode === 1 ? k !== from : mode === 2 ? k < from : mode === 3 ? k < from || k >= to : false) return;
      if (tagged % 2 === 1) {
        deleted.add(k);
        return;
      }
      if (deleted.size !== 0) deleted.delete(k);
      keys.push(k);
      if (keys.length >= compactAt) {
        keys = sortedUnique(keys, undefined);
        compactAt = Math.max(minCompact, keys.length * 2);
      }
    });
    return sortedUnique(keys, deleted);
  }

  /** Number of live keys at the current revision (what etcdutl 3.6 calls totalKey). */
  liveKeyCount(): number {
    return this.forEachLiveKey(this.currentRevision, () => undefined);
  }

  /**
   * Calls `visit` with each key live at `rev`, in no particular order (the key is a view valid only during
   * the call); returns how many there were. The cheapest walk over the live keys: no KeyValue is decoded.
   */
  forEachLiveKey(rev: bigint, visit: (key: Buffer) => void): number {
    let n = 0;
    const latest = this.latestLocatorsByBytes(rev, undefined, undefined);
    for (let j = 0; j < latest.size; j++) {
      if (latest.valueAt(j) % 2 !== 0) continue;
      n++;
      visit(latest.keyAt(j));
    }
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
