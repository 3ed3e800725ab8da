/**
 * The protobuf wire format, read without a schema: a message becomes a list of (field number, wire type,
 * value) records. Varints are kept as bigint so int64/uint64 stay exact; length-delimited values are
 * zero-copy sub-arrays. Hand-written (rather than protobufjs' Reader) because the decoder needs the raw
 * records of unknown fields, exact 64-bit values and sub-slices without copying.
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

/** Thrown for bytes that are not a well-formed protobuf message. */
export class ProtobufError extends CorruptInputError {}

function fail(what: string, where: string): never {
  throw new ProtobufError(where, `malformed protobuf: ${what}`);
}

export function readVarint(buf: Uint8Array, pos: number, where: string): [bigint, number] {
  // Fast path for up to 4 bytes (28 bits) in plain numbers.
  let small = 0;
  for (let i = 0; i < 4; i++) {
    if (pos >= buf.length) fail('truncated varint', where);
    const b = buf[pos++]!;
    small |= (b & 0x7f) << (7 * i);
    if ((b & 0x80) === 0) return [BigInt(small >>> 0), pos];
  }
  let result = BigInt(small >>> 0);
  let shift = 28n;
  for (let i = 4; i < 10; i++) {
    if (pos >= buf.length) fail('truncated varint', where);
    const b = buf[pos++]!;
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [BigInt.asUintN(64, result), pos];
    shift += 7n;
  }
  return fail('varint longer than 10 bytes', where);
}

/** Splits one message into its records, in wire order. */
export function parseMessage(buf: Uint8Array, where: string): WireRecord[] {
  const out: WireRecord[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [tag, p1] = readVarint(buf, pos, where);
    pos = p1;
    const num = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (num === 0) fail('field number 0', where);
    switch (wire) {
      case WIRE_VARINT: {
        const [v, p2] = readVarint(buf, pos, where);
        pos = p2;
        out.push({ num, wire, varint: v });
        break;
      }
      case WIRE_FIXED64:
        if (pos + 8 > buf.length) fail(`truncated fixed64 field ${num}`, where);
        out.push({ num, wire, bytes: buf.subarray(pos, pos + 8) });
        pos += 8;
        break;
      case WIRE_FIXED32:
        if (pos + 4 > buf.length) fail(`truncated fixed32 field ${num}`, where);
        out.push({ num, wire, bytes: buf.subarray(pos, pos + 4) });
        pos += 4;
        break;
      case WIRE_BYTES: {
        const [len, p2] = readVarint(buf, pos, where);
        pos = p2;
        if (len > BigInt(buf.length - pos)) fail(`field ${num} length ${len} runs past the end`, where);
        const end = pos + Number(len);
        out.push({ num, wire, bytes: buf.subarray(pos, end) });
        pos = end;
        break;
      }
      default:
        fail(`unsupported wire type ${wire} for field ${num}`, where);
    }
  }
  return out;
}

/** The packed varints of a length-delimited repeated scalar field. */
export function unpackVarints(buf: Uint8Array, where: string): bigint[] {
  const out: bigint[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [v, p] = readVarint(buf, pos, where);
    out.push(v);
    pos = p;
  }
  return out;
}
