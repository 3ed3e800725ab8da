/**
 * JSON and CBOR values as Go's unstructured decoding sees them: integers stay exact (bigint beyond 2^53),
 * other numbers are float64. CBOR values carry the self-describe tag 55799 (`d9 d9 f7`).
 */
import { decode as decodeCbor } from 'cbor2';
import { decode as decodeCborFast } from 'cborg';
import { isInteger, isSafeNumber, parse } from 'lossless-json';
import type { JsonValue } from './render-proto.js';
import { bytesText } from './text.js';

function parseNumber(text: string): number | bigint {
  if (isInteger(text) && !isSafeNumber(text)) {
    const b = BigInt(text);
    // Go's unstructured JSON keeps int64; beyond that it falls back to float64.
    if (b >= -(2n ** 63n) && b < 2n ** 63n) return b;
  }
  return Number(text);
}

/** Parses JSON text keeping 64-bit integers exact. Throws SyntaxError on malformed input. */
export function parseLosslessJson(text: string): JsonValue {
  // Without a run of 16+ digits every number is a safe integer or a double both parsers read alike, so the
  // native parser (much faster) gives the same value.
  if (!/\d{16}/.test(text)) return JSON.parse(text) as JsonValue;
  return parse(text, null, parseNumber) as JsonValue;
}

export const CBOR_SELF_DESCRIBE = Uint8Array.of(0xd9, 0xd9, 0xf7);

/**
 * Set by fromCbor on what only malformed input gives cborg: a text string holding U+FFFD (cborg's stand-in
 * for invalid UTF-8) or a symbol (a stray break code read as a value).
 */
let doubtful = false;

function fromCbor(v: unknown): JsonValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') {
    if (v.includes('\ufffd')) doubtful = true;
    return v;
  }
  if (typeof v === 'symbol') doubtful = true;
  if (typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') {
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  // Kubernetes writes Go strings as CBOR byte strings; unstructured decoding turns them back into strings.
  if (v instanceof Uint8Array) return bytesText(v);
  if (Array.isArray(v)) return v.map(fromCbor);
  if (v instanceof Map) {
    const entries = [...v.entries()].map(
      ([k, x]) => [k instanceof Uint8Array ? bytesText(k) : fromCborKey(k), x] as const,
    );
    entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const out: { [k: string]: JsonValue } = {};
    for (const [k, x] of entries) out[k] = fromCbor(x);
    return out;
  }
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if ('tag' in o && 'contents' in o) return fromCbor(o.contents);
    const out: { [k: string]: JsonValue } = {};
    for (const k of Object.keys(o).sort()) out[k] = fromCbor(o[k]);
    return out;
  }
  return String(v);
}

function fromCborKey(k: unknown): string {
  if ((typeof k === 'string' && k.includes('\ufffd')) || typeof k === 'symbol') doubtful = true;
  return String(k);
}

/**
 * Decodes a CBOR value (with or without the self-describe prefix) into a JSON value. cborg (several times
 * faster) reads what Kubernetes writes — maps, arrays, byte and text strings, numbers, booleans, null. cbor2
 * reads what cborg refuses (tags, simple values, trailing bytes) and what it reads doubtfully: text strings
 * with invalid UTF-8, which cborg replaces by U+FFFD but cbor2 refuses, as Kubernetes' own CBOR decoder does,
 * and stray break codes.
 */
export function parseCbor(bytes: Uint8Array): JsonValue {
  let b = bytes;
  if (b.length >= 3 && b[0] === 0xd9 && b[1] === 0xd9 && b[2] === 0xf7) b = b.subarray(3);
  let decoded: unknown;
  try {
    decoded = decodeCborFast(b, { useMaps: true });
  } catch {
    return fromCbor(decodeCbor(b, { preferMap: true }));
  }
  doubtful = false;
  const value = fromCbor(decoded);
  return doubtful ? fromCbor(decodeCbor(b, { preferMap: true })) : value;
}
