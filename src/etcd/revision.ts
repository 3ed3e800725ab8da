/**
 * The `key` bucket's revision keys (formats.md §2.2): main u64 BE, '_', sub u64 BE, optional 't' marking a
 * tombstone. Big-endian, so bbolt's byte order is chronological (main, sub) order.
 */
export const REV_BYTES_LEN = 17;
export const MARKED_REV_BYTES_LEN = 18;
const SEPARATOR = 0x5f; // '_'
const TOMBSTONE = 0x74; // 't'

export interface Revision {
  main: bigint;
  sub: bigint;
}

export interface RevisionKey extends Revision {
  tombstone: boolean;
}

/** Parses a revision key; returns a problem string for anything etcd's BytesToBucketKey would panic on. */
export function parseRevisionKey(k: Buffer): RevisionKey | string {
  if (k.length !== REV_BYTES_LEN && k.length !== MARKED_REV_BYTES_LEN) {
    return `revision key has ${k.length} bytes, expected 17 or 18`;
  }
  if (k[8] !== SEPARATOR) return `revision key byte 8 is 0x${k[8]!.toString(16)}, expected '_' (0x5f)`;
  if (k.length === MARKED_REV_BYTES_LEN && k[17] !== TOMBSTONE) {
    return `revision key byte 17 is 0x${k[17]!.toString(16)}, expected 't' (0x74)`;
  }
  const main = k.readBigInt64BE(0);
  const sub = k.readBigInt64BE(9);
  if (main < 0n || sub < 0n) return 'revision key holds a negative revision';
  return { main, sub, tombstone: k.length === MARKED_REV_BYTES_LEN };
}

/**
 * True when b[start, start+len) is a revision key `parseRevisionKey` accepts, checked in place without
 * allocating (hot loops over every entry); callers parse anything else to get the exact problem.
 */
export function isWellFormedRevisionKey(b: Uint8Array, start: number, len: number): boolean {
  return (
    (len === REV_BYTES_LEN || (len === MARKED_REV_BYTES_LEN && b[start + 17] === TOMBSTONE)) &&
    b[start + 8] === SEPARATOR &&
    b[start]! < 0x80 &&
    b[start + 9]! < 0x80
  );
}

/** The main revision of a revision key without validation (callers validated it already). */
export function revMain(k: Buffer): bigint {
  return k.readBigInt64BE(0);
}

export function isTombstoneKey(k: Buffer): boolean {
  return k.length === MARKED_REV_BYTES_LEN && k[17] === TOMBSTONE;
}

/** Encodes a revision key (17 bytes, or 18 with the tombstone mark). */
export function encodeRevisionKey(rev: Revision, tombstone = false): Buffer {
  const b = Buffer.alloc(tombstone ? MARKED_REV_BYTES_LEN : REV_BYTES_LEN);
  b.writeBigInt64BE(rev.main, 0);
  b[8] = SEPARATOR;
  b.writeBigInt64BE(rev.sub, 9);
  if (tombstone) b[17] = TOMBSTONE;
  return b;
}

/** A 17-byte revision value as stored in meta/scheduledCompactRev and meta/finishedCompactRev. */
export function parseRevisionValue(v: Buffer): Revision | string {
  const r = parseRevisionKey(v.length === REV_BYTES_LEN ? v : Buffer.alloc(0));
  if (typeof r === 'string')
    return v.length === REV_BYTES_LEN ? r : `revision value has ${v.length} bytes, expected 17`;
  return { main: r.main, sub: r.sub };
}

export function compareRevisions(a: Revision, b: Revision): number {
  if (a.main !== b.main) return a.main < b.main ? -1 : 1;
  if (a.sub !== b.sub) return a.sub < b.sub ? -1 : 1;
  return 0;
}
