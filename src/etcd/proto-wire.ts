/**
 * The few protobuf wire-format primitives the etcd schema needs (varints, length-delimited fields),
 * written here rather than taken from a protobuf package because values are decoded lazily straight from
 * bbolt pages: the reader must be able to skip a multi-MiB `value` field without reading it.
 */
export const WireType = { varint: 0, i64: 1, len: 2, i32: 5 } as const;

export class WireError extends Error {}

/** Reads a varint at `pos`; returns [value as uint64 bigint, next position]. */
export function readVarint(b: Uint8Array, pos: number, end = b.length): [bigint, number] {
  let lo = 0;
  let shift = 0;
  let i = pos;
  // Fast path: up to 4 bytes fit into 28 bits.
  for (; i < end && shift < 28; shift += 7) {
    const byte = b[i++]!;
    lo |= (byte & 0x7f) << shift;
    if (byte < 0x80) return [BigInt(lo >>> 0), i];
  }
  let v = BigInt(lo >>> 0);
  let s = BigInt(shift);
  for (; i < end; s += 7n) {
    if (s > 63n) throw new WireError('varint longer than 10 bytes');
    const byte = b[i++]!;
    v |= BigInt(byte & 0x7f) << s;
    if (byte < 0x80) return [v & 0xffffffffffffffffn, i];
  }
  throw new WireError('varint runs past the end of the message');
}

/** Reads a varint that must be a small number (a tag or a length). */
export function readSmallVarint(b: Uint8Array, pos: number, end = b.length): [number, number] {
  const [v, next] = readVarint(b, pos, end);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new WireError(`length or tag ${v} is too large`);
  return [Number(v), next];
}

export function toInt64(u: bigint): bigint {
  return BigInt.asIntN(64, u);
}

/** Skips a field's payload of the given wire type; returns the next position. */
export function skipField(b: Uint8Array, pos: number, wireType: number, end = b.length): number {
  switch (wireType) {
    case WireType.varint:
      return readVarint(b, pos, end)[1];
    case WireType.i64:
      return pos + 8;
    case WireType.len: {
      const [n, p] = readSmallVarint(b, pos, end);
      return p + n;
    }
    case WireType.i32:
      return pos + 4;
    default:
      throw new WireError(`unsupported wire type ${wireType}`);
  }
}

/** Encodes a uint64/int64 varint (negative int64 as 10 bytes, two's complement). */
export function encodeVarint(v: bigint): Buffer {
  let u = BigInt.asUintN(64, v);
  const out: number[] = [];
  while (u >= 0x80n) {
    out.push(Number(u & 0x7fn) | 0x80);
    u >>= 7n;
  }
  out.push(Number(u));
  return Buffer.from(out);
}
