/**
 * The protobuf wire format, read without a schema. Two levels over the same record reader:
 * - `readRecord` (and `nextRecord`, its inlinable front for the common short records) steps over one record
 *   in place (field number, wire type, payload offset and length) with plain-number arithmetic and no
 *   allocation; the schema-driven decoder (render-proto.ts) uses it directly;
 * - `parseMessage` lists a message's records as objects, varints as exact bigint and length-delimited values
 *   as zero-copy sub-arrays.
 * Hand-written (rather than protobufjs' Reader) because the decoder needs the raw records of unknown fields,
 * exact 64-bit values and sub-slices without copying.
 */
import { CorruptInputError } from '../util/errors.js';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_FIXED32 = 5;

export interface WireRecord {
  num: number;
  wire: number;
  /** varint: the unsigned 64-bit value. */
  varint?: bigint;
  /** bytes, fixed32, fixed64: the payload. */
  bytes?: Uint8Array;
}

/** One record located in its buffer: the payload is [pos, pos + len) (for a varint: its encoded bytes). */
export interface RawRecord {
  num: number;
  wire: number;
  pos: number;
  len: number;
}

/** Thrown for bytes that are not a well-formed protobuf message. */
export class ProtobufError extends CorruptInputError {}

function fail(what: string, where: string): never {
  throw new ProtobufError(where, `malformed protobuf: ${what}`);
}

/** The exact unsigned 64-bit value of the varint encoded in buf[pos, pos + len) (len ≤ 10, well formed). */
export function varintBigAt(buf: Uint8Array, pos: number, len: number): bigint {
  let result = 0n;
  for (let i = len - 1; i >= 0; i--) result = (result << 7n) | BigInt(buf[pos + i]! & 0x7f);
  return BigInt.asUintN(64, result);
}

/** The value of a varint of at most 7 bytes (< 2^49, so exact as a number). */
function smallVarintAt(buf: Uint8Array, pos: number, len: number): number {
  let v = 0;
  for (let i = len - 1; i >= 0; i--) v = v * 128 + (buf[pos + i]! & 0x7f);
  return v;
}

/** The low 32 bits of the varint in buf[pos, pos + len), as a signed int32 (Go's int32(x)). */
export function varintInt32At(buf: Uint8Array, pos: number, len: number): number {
  let lo = 0;
  const n = len < 5 ? len : 5;
  for (let i = 0; i < n; i++) lo |= (buf[pos + i]! & 0x7f) << (7 * i);
  return lo | 0;
}

/** The varint in buf[pos, pos + len) as uint64: a number up to 2^53 - 1, else a bigint. */
export function varintUint64At(buf: Uint8Array, pos: number, len: number): number | bigint {
  if (len <= 7) return smallVarintAt(buf, pos, len);
  const v = varintBigAt(buf, pos, len);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** The varint in buf[pos, pos + len) as int64 (two's complement): a number when safe, else a bigint. */
export function varintInt64At(buf: Uint8Array, pos: number, len: number): number | bigint {
  if (len <= 7) return smallVarintAt(buf, pos, len);
  const s = BigInt.asIntN(64, varintBigAt(buf, pos, len));
  return s >= BigInt(Number.MIN_SAFE_INTEGER) && s <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(s) : s;
}

/** Whether the varint in buf[pos, pos + len) is non-zero as a uint64. */
export function varintNonZeroAt(buf: Uint8Array, pos: number, len: number): boolean {
  if (len <= 7) return smallVarintAt(buf, pos, len) !== 0;
  return varintBigAt(buf, pos, len) !== 0n;
}

/** The length of the varint starting at pos (bounded by end), or a ProtobufError. */
function varintLength(buf: Uint8Array, pos: number, end: number, where: string): number {
  for (let i = 0; i < 10; i++) {
    if (pos + i >= end) fail('truncated varint', where);
    if ((buf[pos + i]! & 0x80) === 0) return i + 1;
  }
  return fail('varint longer than 10 bytes', where);
}

/**
 * Reads the record starting at `pos` (< end) into `r` and returns the position after it. Errors (truncation,
 * field number 0, lengths past the end, unknown wire types) throw ProtobufError naming `where`.
 */
export function readRecord(buf: Uint8Array, pos: number, end: number, where: string, r: RawRecord): number {
  let num: number;
  let wire: number;
  const b0 = buf[pos]!;
  if (b0 < 0x80) {
    num = b0 >>> 3;
    wire = b0 & 7;
    pos++;
  } else {
    const n = varintLength(buf, pos, end, where);
    if (n <= 4) {
      const tag = smallVarintAt(buf, pos, n);
      num = tag >>> 3;
      wire = tag & 7;
    } else {
      const tag = varintBigAt(buf, pos, n);
      num = Number(tag >> 3n);
      wire = Number(tag & 7n);
    }
    pos += n;
  }
  if (num === 0) fail('field number 0', where);
  r.num = num;
  r.wire = wire;
  switch (wire) {
    case WIRE_VARINT: {
      const n = varintLength(buf, pos, end, where);
      r.pos = pos;
      r.len = n;
      return pos + n;
    }
    case WIRE_FIXED64:
      if (pos + 8 > end) fail(`truncated fixed64 field ${num}`, where);
      r.pos = pos;
      r.len = 8;
      return pos + 8;
    case WIRE_FIXED32:
      if (pos + 4 > end) fail(`truncated fixed32 field ${num}`, where);
      r.pos = pos;
      r.len = 4;
      return pos + 4;
    case WIRE_BYTES: {
      let len: number;
      const l0 = buf[pos]!;
      if (l0 < 0x80 && pos < end) {
        len = l0;
        pos++;
      } else {
        const n = varintLength(buf, pos, end, where);
        if (n > 7) {
          const big = varintBigAt(buf, pos, n);
          if (big > BigInt(end - pos - n)) fail(`field ${num} length ${big} runs past the end`, where);
          len = Number(big);
        } else len = smallVarintAt(buf, pos, n);
        pos += n;
      }
      if (len > end - pos) fail(`field ${num} length ${len} runs past the end`, where);
      r.pos = pos;
      r.len = len;
      return pos + len;
    }
    default:
      return fail(`unsupported wire type ${wire} for field ${num}`, where);
  }
}

/**
 * readRecord with the common records — a one-byte tag and a one-byte length or value — read here; small
 * enough for the decoder's loops to inline. Anything else, and every malformed record, goes to readRecord.
 */
export function nextRecord(buf: Uint8Array, pos: number, end: number, where: string, r: RawRecord): number {
  const b0 = buf[pos]!;
  if (b0 >= 8 && b0 < 0x80 && pos + 1 < end) {
    const b1 = buf[pos + 1]!;
    if (b1 < 0x80) {
      const wire = b0 & 7;
      if (wire === WIRE_BYTES && b1 <= end - pos - 2) {
        r.num = b0 >>> 3;
        r.wire = wire;
        r.pos = pos + 2;
        r.len = b1;
        return pos + 2 + b1;
      }
      if (wire === WIRE_VARINT) {
        r.num = b0 >>> 3;
        r.wire = wire;
        r.pos = pos + 1;
        r.len = 1;
        return pos + 2;
      }
    }
  }
  return readRecord(buf, pos, end, where, r);
}

export function readVarint(buf: Uint8Array, pos: number, where: string): [bigint, number] {
  const n = varintLength(buf, pos, buf.length, where);
  return [varintBigAt(buf, pos, n), pos + n];
}

/** Splits one message into its records, in wire order. */
export function parseMessage(buf: Uint8Array, where: string): WireRecord[] {
  const out: WireRecord[] = [];
  const r: RawRecord = { num: 0, wire: 0, pos: 0, len: 0 };
  let pos = 0;
  while (pos < buf.length) {
    pos = nextRecord(buf, pos, buf.length, where, r);
    if (r.wire === WIRE_VARINT)
      out.push({ num: r.num, wire: r.wire, varint: varintBigAt(buf, r.pos, r.len) });
    else out.push({ num: r.num, wire: r.wire, bytes: buf.subarray(r.pos, r.pos + r.len) });
  }
  return out;
}

/**
 * Calls `each(pos, len)` for every varint packed in buf[pos, end) (a length-delimited repeated scalar
 * field), after checking them all.
 */
export function packedVarints(
  buf: Uint8Array,
  pos: number,
  end: number,
  where: string,
  each: (pos: number, len: number) => void,
): void {
  const found: number[] = [];
  while (pos < end) {
    const n = varintLength(buf, pos, end, where);
    found.push(pos, n);
    pos += n;
  }
  for (let i = 0; i < found.length; i += 2) each(found[i]!, found[i + 1]!);
}
