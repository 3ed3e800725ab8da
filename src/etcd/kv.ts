/**
 * mvccpb.KeyValue (formats.md §2.2): key = 1 bytes, create_revision = 2, mod_revision = 3, version = 4
 * (int64), value = 5 bytes, lease = 6 int64. Decoded lazily from a bbolt leaf entry so that a large value
 * is only read when wanted.
 */
import { entryValue, type LeafEntry } from '../bbolt/index.js';
import {
  encodeVarint,
  readSmallVarint,
  readVarint,
  skipField,
  toInt64,
  WireError,
  WireType,
} from './proto-wire.js';

export interface KeyValue {
  key: Buffer;
  createRevision: bigint;
  modRevision: bigint;
  version: bigint;
  /** Undefined when the value was not read (keys-only) — an empty value is a zero-length Buffer. */
  value: Buffer | undefined;
  lease: bigint;
}

/** How much of a value keys-only reads fetch at once from its start (the fields before `value`). */
export const VALUE_HEAD_BYTES = 4096;
const HEAD = VALUE_HEAD_BYTES;

/** Decodes a KeyValue from raw bytes. Throws WireError on malformed input. */
export function decodeKeyValue(bytes: Buffer): KeyValue {
  return decodeKeyValueAt(bytes, 0, bytes.length, true);
}

/**
 * Decodes the KeyValue at b[start, end) (same rules and errors as `decodeWith`, without a view per field).
 * The value (when `withValue`) is a view into `b`; the key is a copy.
 */
export function decodeKeyValueAt(b: Buffer, start: number, end: number, withValue: boolean): KeyValue {
  const kv: KeyValue = {
    key: EMPTY,
    createRevision: 0n,
    modRevision: 0n,
    version: 0n,
    value: withValue ? EMPTY : undefined,
    lease: 0n,
  };
  let pos = start;
  while (pos < end) {
    let tag = b[pos]!;
    if (tag < 0x80) pos++;
    else [tag, pos] = readSmallVarint(b, pos, Math.min(pos + 10, end));
    const field = Math.floor(tag / 8);
    const wt = tag & 7;
    if (field === 0) throw new WireError('field number 0');
    if (wt === WireType.varint && field >= 2 && field <= 6 && field !== 5) {
      // Fast path: a varint of up to 4 bytes (< 2^28, so non-negative as an int64).
      let v = 0;
      let i = pos;
      let done = false;
      const lim = Math.min(pos + 4, end);
      while (i < lim) {
        const c = b[i]!;
        v |= (c & 0x7f) << (7 * (i - pos));
        i++;
        if (c < 0x80) {
          done = true;
          break;
        }
      }
      let n: bigint;
      if (done) {
        n = BigInt(v);
        pos = i;
      } else {
        const [u, vp] = readVarint(b, pos, Math.min(pos + 10, end));
        pos = vp;
        n = toInt64(u);
      }
      if (field === 2) kv.createRevision = n;
      else if (field === 3) kv.modRevision = n;
      else if (field === 4) kv.version = n;
      else kv.lease = n;
      continue;
    }
    if (wt === WireType.len) {
      let n = b[pos]!;
      if (pos < end && n < 0x80) pos++;
      else [n, pos] = readSmallVarint(b, pos, Math.min(pos + 10, end));
      if (pos + n > end) throw new WireError(`field ${field} length ${n} runs past the end of the message`);
      if (field === 1) {
        const k = Buffer.allocUnsafe(n);
        if (n <= 64) for (let j = 0; j < n; j++) k[j] = b[pos + j]!;
        else b.copy(k, 0, pos, pos + n);
        kv.key = k;
      } else if (field === 5 && withValue) kv.value = b.subarray(pos, pos + n);
      pos += n;
      continue;
    }
    pos = skipField(b, pos, wt, Math.min(pos + 10, end));
  }
  if (pos !== end) throw new WireError('message ends inside a field');
  if (kv.key === EMPTY) kv.key = Buffer.alloc(0);
  if (kv.value === EMPTY) kv.value = Buffer.alloc(0);
  return kv;
}

const EMPTY = Buffer.alloc(0);

/** Decodes the KeyValue stored in a leaf entry; reads the value bytes only when `withValue`. */
export function decodeEntryKeyValue(e: LeafEntry, withValue: boolean): KeyValue {
  const size = e.valueSize;
  if (withValue) return decodeKeyValue(entryValue(e));
  const headLen = Math.min(size, HEAD);
  const head = e.page.peek(e.valueOffset, headLen);
  return decodeWith(
    (pos, n) => (pos + n <= headLen ? head.subarray(pos, pos + n) : e.page.peek(e.valueOffset + pos, n)),
    size,
    false,
  );
}

/** Where `scanKeyField` found the key: bytes [start, end) of the buffer it was given. */
export const keyField = { start: 0, end: 0 };

/**
 * Walks an mvccpb.KeyValue at b[start, end) without allocating and sets `keyField` to the last `key`
 * field (empty at `start` when there is none). Returns false on anything unusual — the caller then decodes
 * with `decodeKeyValue`, which reports the exact problem. Accepts exactly what `decodeKeyValue` accepts.
 */
export function scanKeyField(b: Buffer, start: number, end: number): boolean {
  let pos = start;
  let ks = start;
  let ke = start;
  while (pos < end) {
    const tag = b[pos++]!;
    if (tag >= 0x80 || tag < 8) return false;
    const wt = tag & 7;
    if (wt === 0) {
      let i = 0;
      while (pos < end && b[pos]! >= 0x80 && i < 9) {
        pos++;
        i++;
      }
      if (pos >= end || b[pos]! >= 0x80) return false;
      pos++;
    } else if (wt === 2) {
      let n = 0;
      let shift = 0;
      for (;;) {
        if (pos >= end || shift > 21) return false;
        const c = b[pos++]!;
        n += (c & 0x7f) * 2 ** shift;
        if (c < 0x80) break;
        shift += 7;
      }
      if (pos + n > end) return false;
      if (tag >>> 3 === 1) {
        ks = pos;
        ke = pos + n;
      }
      pos += n;
    } else if (wt === 1) pos += 8;
    else if (wt === 5) pos += 4;
    else return false;
  }
  if (pos !== end) return false;
  keyField.start = ks;
  keyField.end = ke;
  return true;
}

/**
 * The fast path of `entryKey` over bytes at hand: when the KeyValue at b[start, …) (of which the bytes up
 * to `end` are available) starts with its `key` field and that field ends before `end`, sets `keyField` to
 * it and returns true; false otherwise (the caller then uses `entryKey`).
 */
export function leadingKeyField(b: Buffer, start: number, end: number): boolean {
  if (start + 2 > end || b[start] !== 0x0a) return false;
  let pos = start + 1;
  let n = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= end || shift > 28) return false;
    const c = b[pos++]!;
    n += (c & 0x7f) * 2 ** shift;
    if (c < 0x80) break;
  }
  if (pos + n > end) return false;
  keyField.start = pos;
  keyField.end = pos + n;
  return true;
}

/** Just the `key` field of the KeyValue in a leaf entry (fast path: etcd writes it first). */
export function entryKey(e: LeafEntry): Buffer {
  const size = e.valueSize;
  const head = e.page.peek(e.valueOffset, Math.min(size, 16));
  if (size >= 2 && head[0] === 0x0a) {
    const [n, p] = readSmallVarint(head, 1);
    if (p + n <= size) return e.page.peek(e.valueOffset + p, n);
  }
  return decodeEntryKeyValue(e, false).key;
}

function decodeWith(get: (pos: number, n: number) => Buffer, size: number, withValue: boolean): KeyValue {
  const kv: KeyValue = {
    key: Buffer.alloc(0),
    createRevision: 0n,
    modRevision: 0n,
    version: 0n,
    value: withValue ? Buffer.alloc(0) : undefined,
    lease: 0n,
  };
  let pos = 0;
  while (pos < size) {
    const t = get(pos, Math.min(10, size - pos));
    const [tag, tp] = readSmallVarint(t, 0);
    pos += tp;
    const field = Math.floor(tag / 8);
    const wt = tag & 7;
    if (field === 0) throw new WireError('field number 0');
    if (wt === WireType.varint && field >= 2 && field <= 6 && field !== 5) {
      const vb = get(pos, Math.min(10, size - pos));
      const [v, vp] = readVarint(vb, 0);
      pos += vp;
      const n = toInt64(v);
      if (field === 2) kv.createRevision = n;
      else if (field === 3) kv.modRevision = n;
      else if (field === 4) kv.version = n;
      else kv.lease = n;
      continue;
    }
    if (wt === WireType.len) {
      const lb = get(pos, Math.min(10, size - pos));
      const [n, lp] = readSmallVarint(lb, 0);
      pos += lp;
      if (pos + n > size) throw new WireError(`field ${field} length ${n} runs past the end of the message`);
      if (field === 1) kv.key = Buffer.from(get(pos, n));
      else if (field === 5 && withValue) kv.value = get(pos, n);
      pos += n;
      continue;
    }
    const sb = get(pos, Math.min(10, size - pos));
    const next = skipField(sb, 0, wt);
    pos += next;
  }
  if (pos !== size) throw new WireError('message ends inside a field');
  return kv;
}

/** Encodes a KeyValue the way etcd's gogo-protobuf marshaller does (zero fields omitted). Used by tests. */
export function encodeKeyValue(kv: Omit<KeyValue, 'value'> & { value?: Buffer | undefined }): Buffer {
  const parts: Buffer[] = [];
  const bytesField = (f: number, b: Buffer) => {
    if (b.length === 0) return;
    parts.push(encodeVarint(BigInt(f * 8 + 2)), encodeVarint(BigInt(b.length)), b);
  };
  const intField = (f: number, v: bigint) => {
    if (v === 0n) return;
    parts.push(encodeVarint(BigInt(f * 8)), encodeVarint(v));
  };
  bytesField(1, kv.key);
  intField(2, kv.createRevision);
  intField(3, kv.modRevision);
  intField(4, kv.version);
  bytesField(5, kv.value ?? Buffer.alloc(0));
  intField(6, kv.lease);
  return Buffer.concat(parts);
}
