/**
 * JSON and CBOR values as Go's unstructured decoding sees them: integers stay exact (bigint beyond 2^53),
 * other numbers are float64. CBOR values carry the self-describe tag 55799 (`d9 d9 f7`).
 */
import { decode as decodeCbor } from 'cbor2';
import { decode as decodeCborFast } from 'cborg';
import { isInteger, isSafeNumber, parse } from 'lossless-json';
import { goStringCompare, isIndexKey, orderedKeys, orderedObject } from '../util/json.js';
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

/**
 * Texts the native parser cannot read as written: a run of 16+ digits (an integer that may exceed 2^53), an
 * integer-like key (objects list those first, in numeric order; digits may be escaped as `\u0031`), a key
 * starting with NUL (the mark below).
 */
const ANY_HAZARD = /\d{16}|"(?:\d|\\u003\d)+"\s*:|"\\u0000/;

/** Every JSON string of a text, in order (a string followed by `:` is a key). */
const JSON_STRING = /"[^"\\]*(?:\\.[^"\\]*)*"(\s*:)?/g;

/**
 * Marks the keys that parsers would not keep as written with a leading NUL (`"\u0000` + key), so that they
 * keep their place; `restoreMarked` removes the mark. With `all`, `__proto__` keys are marked too (for
 * parsers that assign keys and would set the prototype instead).
 */
function markKeys(text: string, all: boolean): string {
  return text.replace(JSON_STRING, (m: string, colon: string | undefined) => {
    if (!colon) return m;
    const raw = m.slice(0, m.length - colon.length);
    const k = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
    if (isIndexKey(k) || k.startsWith('\u0000') || (all && k === '__proto__')) return `"\\u0000${m.slice(1)}`;
    return m;
  });
}

/** Rebuilds the objects holding marked keys, in their written order, without the marks. */
function restoreMarked(v: JsonValue): JsonValue {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = restoreMarked(v[i]!);
    return v;
  }
  const keys = Object.keys(v);
  let marked = false;
  for (const k of keys) {
    v[k] = restoreMarked(v[k]!);
    if (k.charCodeAt(0) === 0) marked = true;
  }
  if (!marked) return v;
  return orderedObject(
    keys.map((k) => (k.charCodeAt(0) === 0 ? k.slice(1) : k)),
    keys.map((k) => v[k]!),
  );
}

/**
 * Parses JSON text keeping 64-bit integers exact and every object's keys in their written order (integer-like
 * keys included; see orderedObject), `__proto__` keys as ordinary keys. Throws SyntaxError on malformed input.
 */
export function parseLosslessJson(text: string): JsonValue {
  // Without a run of 16+ digits every number is an integer below 2^53 or a non-integer, which both parsers
  // read alike (Number(text)), so the native parser (much faster) gives the same value.
  // One scan finds whether either rule applies (most texts: neither).
  if (!ANY_HAZARD.test(text)) return JSON.parse(text) as JsonValue;
  if (!/\d{16}/.test(text)) return restoreMarked(JSON.parse(markKeys(text, false)) as JsonValue);
  return restoreMarked(parse(markKeys(text, true), null, parseNumber) as JsonValue);
}

/**
 * Go's map order at every level of an unstructured value (what kube-apiserver serves for custom resources:
 * it decodes them into map[string]interface{} and encodes that, keys sorted by their UTF-8 bytes).
 */
export function sortedMaps(v: JsonValue): JsonValue {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = sortedMaps(v[i]!);
    return v;
  }
  const keys = orderedKeys(v);
  let sorted = true;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const x = v[k]!;
    if (x !== null && typeof x === 'object') v[k] = sortedMaps(x);
    if (sorted && i > 0 && goStringCompare(keys[i - 1]!, k) > 0) sorted = false;
  }
  if (sorted) return v;
  keys.sort(goStringCompare);
  return orderedObject(
    keys,
    keys.map((k) => v[k]!),
  );
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
    entries.sort((a, b) => goStringCompare(a[0], b[0]));
    return orderedObject(
      entries.map((e) => e[0]),
      entries.map((e) => fromCbor(e[1])),
    );
  }
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if ('tag' in o && 'contents' in o) return fromCbor(o.contents);
    const keys = Object.keys(o).sort(goStringCompare);
    return orderedObject(
      keys,
      keys.map((k) => fromCbor(o[k])),
    );
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
