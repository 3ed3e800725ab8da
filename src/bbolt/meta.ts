/**
 * bbolt meta pages (formats.md §1.3): pages 0 and 1, body at page offset 16. Validation is magic, then
 * version 2, then the FNV-1a 64 checksum of body bytes [0, 56). The valid meta with the higher txid wins;
 * otherwise the other valid one.
 */
import { BE, LE, type ByteOrder } from './byte-order.js';

export const BOLT_MAGIC = 0xed0cdaed;
export const BOLT_VERSION = 2;
export const PGID_NO_FREELIST = 0xffffffffffffffffn;
/** Byte offset of the meta body inside a meta page (right after the 16-byte page header). */
export const META_BODY_OFFSET = 16;
/** Size of the meta body: magic .. checksum. */
export const META_BODY_SIZE = 64;

export interface Meta {
  /** Which meta page (0 or 1) this came from. */
  page: 0 | 1;
  magic: number;
  version: number;
  pageSize: number;
  flags: number;
  rootPgid: bigint;
  rootSequence: bigint;
  freelistPgid: bigint;
  /** High-water mark: the data size is pgid × pageSize. */
  pgid: bigint;
  txid: bigint;
  checksum: bigint;
}

export type MetaProblem = 'invalid magic' | 'version mismatch' | 'checksum mismatch' | 'truncated';

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK64 = 0xffffffffffffffffn;

/** FNV-1a 64 of the bytes (Go's hash/fnv New64a). */
export function fnv1a64(bytes: Uint8Array): bigint {
  let h = FNV_OFFSET;
  for (const b of bytes) {
    h ^= BigInt(b);
    h = (h * FNV_PRIME) & MASK64;
  }
  return h;
}

/** The byte order a meta body's magic says, or undefined when it is no bbolt magic. */
export function byteOrderOfMagic(body: Buffer): ByteOrder | undefined {
  if (body.length < 4) return undefined;
  if (body.readUInt32LE(0) === BOLT_MAGIC) return LE;
  if (body.readUInt32BE(0) === BOLT_MAGIC) return BE;
  return undefined;
}

/**
 * Parses and validates a meta body (64 bytes starting at page offset 16). Returns the meta or the first
 * problem found, in bbolt's validation order.
 */
export function parseMeta(
  body: Buffer,
  page: 0 | 1,
): { meta: Meta; order: ByteOrder } | { problem: MetaProblem } {
  if (body.length < META_BODY_SIZE) return { problem: 'truncated' };
  const order = byteOrderOfMagic(body);
  if (!order) return { problem: 'invalid magic' };
  const version = order.u32(body, 4);
  if (version !== BOLT_VERSION) return { problem: 'version mismatch' };
  const checksum = order.u64(body, 56);
  if (fnv1a64(body.subarray(0, 56)) !== checksum) return { problem: 'checksum mismatch' };
  return {
    order,
    meta: {
      page,
      magic: order.u32(body, 0),
      version,
      pageSize: order.u32(body, 8),
      flags: order.u32(body, 12),
      rootPgid: order.u64(body, 16),
      rootSequence: order.u64(body, 24),
      freelistPgid: order.u64(body, 32),
      pgid: order.u64(body, 40),
      txid: order.u64(body, 48),
      checksum,
    },
  };
}

/** bbolt's choice between two metas: the valid one with the higher txid, else the other valid one. */
export function chooseMeta(m0: Meta | undefined, m1: Meta | undefined): Meta | undefined {
  if (m0 && m1) return m1.txid > m0.txid ? m1 : m0;
  return m0 ?? m1;
}
