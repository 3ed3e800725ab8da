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

const HEAD = 4096;

/** Decodes a KeyValue from raw bytes. Throws WireError on malformed input. */
export function decodeKeyValue(bytes: Buffer): KeyValue {
  return decodeWith((pos, n) => bytes.subarray(pos, pos + n), bytes.length, true);
}

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
