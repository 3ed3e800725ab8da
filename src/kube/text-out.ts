/**
 * The output side of the text renderers (render-text.ts): compact JSON written as UTF-8 bytes into one shared
 * buffer, with JSON.stringify's escapes, so that the text equals what stringifyJson prints for the same value.
 * Long strings are kept as JSON texts beside the bytes and joined in at the end (no UTF-8 round trip).
 * Also isPrintedJson: whether a stored JSON text is already exactly what parsing and printing it gives.
 */
import { isUtf8 } from 'node:buffer';
import { type JsonValue } from './render-proto.js';
import { EMPTY_MAP, EMPTY_NEVER, EMPTY_PTR, EMPTY_SCALAR, EMPTY_SLICE, type FieldPlan } from './plan.js';
import { utf8Text } from './text.js';
import { stringifyJson } from '../util/json.js';

/** JSON.stringify's escapes for the bytes below 0x20 (short forms, else \u00xx in lowercase hex). */
const CONTROL_ESCAPES: Buffer[] = Array.from({ length: 0x20 }, (_, c) =>
  Buffer.from(JSON.stringify(String.fromCharCode(c)).slice(1, -1), 'latin1'),
);

/** Strings up to this length (characters) are written by a character loop rather than native calls. */
const SHORT_STRING = 64;
/** Strings longer than this (bytes) are copied through native calls rather than a byte loop. */
export const LONG_STRING = 256;
export const Q = 0x22;
export const COMMA = 0x2c;
export const COLON = 0x3a;
const BACKSLASH = 0x5c;
export const NULL_TEXT = Buffer.from('null');
export const TRUE_TEXT = Buffer.from('true');
export const FALSE_TEXT = Buffer.from('false');

/** The output buffer every renderer writes into (rendering is synchronous); kept unless it grew large. */
let shared: Buffer = Buffer.allocUnsafe(1 << 16);
const KEEP_BYTES = 4 << 20;

/** One text being written (renderers are synchronous: they take turns on the shared buffer). */
export class TextOut {
  o: Buffer = shared;
  p = 0;
  /** Whether every byte written so far is ASCII (then the text is made without UTF-8 decoding). */
  ascii = true;
  /**
   * Long strings, kept as JSON texts rather than copied into the bytes: (byte offset, text) pairs, in order.
   * Never part of an omitted value: they hold a non-empty protobuf string, which no empty or zero value has.
   */
  long: (number | string)[] = [];

  /** Starts a new text. */
  begin(): void {
    this.o = shared;
    this.p = 0;
    this.ascii = true;
    this.long.length = 0;
  }

  /** The text written since `begin`. */
  finish(): string {
    const enc = this.ascii ? 'latin1' : 'utf8';
    let text: string;
    if (this.long.length === 0) text = this.o.toString(enc, 0, this.p);
    else {
      text = '';
      let at = 0;
      for (let i = 0; i < this.long.length; i += 2) {
        const off = this.long[i] as number;
        text += this.o.toString(enc, at, off) + (this.long[i + 1] as string);
        at = off;
      }
      text += this.o.toString(enc, at, this.p);
    }
    shared = this.o.length <= KEEP_BYTES ? this.o : Buffer.allocUnsafe(1 << 16);
    return text;
  }

  /** Bytes known to be valid JSON text copied as they are (`high`: some are non-ASCII, valid UTF-8). */
  copy(buf: Buffer, from: number, to: number, high: boolean): void {
    const o = this.room(to - from);
    buf.copy(o, this.p, from, to);
    this.p += to - from;
    if (high) this.ascii = false;
  }

  room(n: number): Buffer {
    if (this.p + n > this.o.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.o.length * 2, this.p + n + 4096));
      this.o.copy(bigger, 0, 0, this.p);
      this.o = bigger;
    }
    return this.o;
  }

  writeByte(b: number): void {
    this.room(1)[this.p++] = b;
  }

  writeBytes(b: Buffer): void {
    const o = this.room(b.length);
    let p = this.p;
    for (let i = 0; i < b.length; i++) o[p++] = b[i]!;
    this.p = p;
  }

  /** A non-negative integer below 2^30 in decimal (as String(n) writes it). */
  writeSmallInt(n: number): void {
    const o = this.room(10);
    if (n < 10) {
      o[this.p++] = 0x30 + n;
      return;
    }
    let digits = 1;
    for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
    let p = this.p + digits;
    this.p = p;
    for (let x = n; p > this.p - digits; x = Math.floor(x / 10)) o[--p] = 0x30 + (x % 10);
  }

  /** ASCII text as it is. */
  writeAscii(s: string): void {
    this.p += this.room(s.length).write(s, this.p, 'latin1');
  }

  /** Text that may hold non-ASCII characters, as UTF-8. */
  writeUtf8(s: string): void {
    const n = this.room(s.length * 3).write(s, this.p, 'utf8');
    if (n !== s.length) this.ascii = false;
    this.p += n;
  }

  /** A JSON string as JSON.stringify writes it; short ASCII strings without escapes are copied directly. */
  writeString(s: string): void {
    const n = s.length;
    if (n <= SHORT_STRING) {
      const o = this.room(n + 2);
      let p = this.p;
      o[p++] = Q;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        // (Nothing is kept of what was copied: this.p moves only at the end.)
        if (c < 0x20 || c >= 0x80 || c === Q || c === BACKSLASH) return this.writeUtf8(JSON.stringify(s));
        o[p++] = c;
      }
      o[p++] = Q;
      this.p = p;
      return;
    }
    this.writeUtf8(JSON.stringify(s));
  }

  /** A JSON value as stringifyJson prints it (special types, zero values, parsed raw JSON). */
  writeValue(v: JsonValue): void {
    switch (typeof v) {
      case 'string':
        return this.writeString(v);
      case 'number':
        return this.writeAscii(Number.isFinite(v) ? String(v) : 'null');
      case 'bigint':
        return this.writeAscii(v.toString());
      case 'boolean':
        return this.writeBytes(v ? TRUE_TEXT : FALSE_TEXT);
      default:
        if (v === null) return this.writeBytes(NULL_TEXT);
        return this.writeUtf8(stringifyJson(v, 0));
    }
  }

  /**
   * The protobuf string buf[pos, pos + len) as a JSON string: the bytes copied, with JSON.stringify's
   * escapes; invalid UTF-8 goes the object path's way (decoded with U+FFFD, then escaped).
   */
  writeStringAt(buf: Buffer, pos: number, len: number): void {
    // Long strings (ConfigMap data, annotations): the native decoder and serializer beat a byte loop.
    if (len > LONG_STRING) {
      this.long.push(this.p, JSON.stringify(utf8Text(buf, pos, pos + len)));
      return;
    }
    const start = this.p;
    let o = this.room(len + 2);
    let p = this.p;
    o[p++] = Q;
    let high = 0;
    const end = pos + len;
    for (let i = pos; i < end; i++) {
      const x = buf[i]!;
      if (x >= 0x20 && x !== Q && x !== BACKSLASH) {
        high |= x;
        o[p++] = x;
        continue;
      }
      this.p = p;
      o = this.room(end - i + 6);
      if (x < 0x20) {
        const e = CONTROL_ESCAPES[x]!;
        for (let k = 0; k < e.length; k++) o[p++] = e[k]!;
      } else {
        o[p++] = BACKSLASH;
        o[p++] = x;
      }
    }
    o[p++] = Q;
    this.p = p;
    if (high & 0x80) {
      if (isUtf8(buf.subarray(pos, end))) this.ascii = false;
      else {
        this.p = start;
        this.writeString(utf8Text(buf, pos, end));
      }
    }
  }

  /** `,"json":` (without the comma for the first member). */
  writeKey(f: FieldPlan, first: boolean): void {
    const k = (f.keyJson ??= Buffer.from(`,${JSON.stringify(f.json)}:`));
    const o = this.room(k.length);
    let p = this.p;
    for (let i = first ? 1 : 0; i < k.length; i++) o[p++] = k[i]!;
    this.p = p;
  }

  /**
   * Takes back the member written from `mark` (its value from `from`) when Go's omitempty/omitzero leaves it
   * out, as ProtoRenderer.isZeroField and isEmpty decide on the value; returns whether it did. `zeros` gives
   * a struct field's zero value as JSON text. A long string written since `mark` means a value that is not
   * empty and not a zero value.
   */
  omitted(
    f: FieldPlan,
    from: number,
    mark: number,
    longMark: number,
    zeros: { fieldZeroJson(f: FieldPlan): string },
  ): boolean {
    if (this.long.length !== longMark) return false;
    if ((f.omitempty && this.emptyText(f.empty, from)) || (f.omitzero && this.zeroText(f, from, zeros))) {
      this.p = mark;
      return true;
    }
    return false;
  }

  private zeroText(f: FieldPlan, from: number, zeros: { fieldZeroJson(f: FieldPlan): string }): boolean {
    if (f.empty !== EMPTY_NEVER) return this.emptyText(f.empty, from) && this.o[from] !== 0x5b;
    const zero = zeros.fieldZeroJson(f);
    const n = this.p - from;
    if (n !== zero.length) return false;
    return this.o.toString('latin1', from, this.p) === zero;
  }

  /** Whether the value text written from `from` is what Go's omitempty omits for a field of this kind. */
  emptyText(kind: number, from: number): boolean {
    const o = this.o;
    const n = this.p - from;
    const c = o[from];
    switch (kind) {
      case EMPTY_SCALAR:
        return (
          (n === 4 && c === 0x6e) || // null
          (n === 5 && c === 0x66) || // false
          (n === 1 && c === 0x30) || // 0
          (n === 2 && c === Q) // ""
        );
      case EMPTY_PTR:
        return n === 4 && c === 0x6e;
      case EMPTY_SLICE:
        return (n === 4 && c === 0x6e) || (n === 2 && c === 0x5b);
      case EMPTY_MAP:
        return (n === 4 && c === 0x6e) || (n === 2 && c === 0x7b);
      default:
        return false;
    }
  }
}

/** isPrintedJson's stacks, by depth: the closing byte of the open container, the previous key's bytes. */
const closing: number[] = [];
const keyFrom: number[] = [];
const keyTo: number[] = [];
/** Whether the last isPrintedJson call saw non-ASCII bytes (then valid UTF-8). */
let sawHigh = false;

/** Whether the text the last isPrintedJson call accepted holds non-ASCII bytes. */
export function printedHigh(): boolean {
  return sawHigh;
}

/**
 * Whether b[pos, end) is exactly the text stringifyJson prints for the value parseLosslessJson reads from it,
 * so that copying it equals parsing and printing it: no whitespace outside strings; strings with valid UTF-8
 * and only the escapes JSON.stringify writes (\" \\ \b \f \n \r \t, \u00xx for other control characters);
 * integers of at most 15 digits without a sign on zero (larger or other numbers may print otherwise); each
 * object's keys strictly increasing bytewise (so none twice). Anything else is left to the parser.
 */
export function isPrintedJson(b: Buffer, pos: number, end: number): boolean {
  let i = pos;
  let depth = 0;
  sawHigh = false;
  value: for (;;) {
    if (i >= end) return false;
    let c = b[i]!;
    if (c === 0x7b) {
      i++;
      if (i < end && b[i] === 0x7d) i++;
      else {
        const k = i;
        i = printedStringEnd(b, i, end);
        if (i < 0 || i >= end || b[i] !== COLON) return false;
        closing[depth] = 0x7d;
        keyFrom[depth] = k;
        keyTo[depth] = i;
        depth++;
        i++;
        continue;
      }
    } else if (c === 0x5b) {
      i++;
      if (i < end && b[i] === 0x5d) i++;
      else {
        closing[depth] = 0x5d;
        depth++;
        continue;
      }
    } else if (c === Q) {
      i = printedStringEnd(b, i, end);
      if (i < 0) return false;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      i = printedIntegerEnd(b, i, end);
      if (i < 0) return false;
    } else if (c === 0x74 && matches(b, i, end, TRUE_TEXT)) i += 4;
    else if (c === 0x66 && matches(b, i, end, FALSE_TEXT)) i += 5;
    else if (c === 0x6e && matches(b, i, end, NULL_TEXT)) i += 4;
    else return false;
    // After a value: close containers, or a comma and the next item or member.
    for (;;) {
      if (depth === 0) return i === end && (!sawHigh || isUtf8(b.subarray(pos, end)));
      if (i >= end) return false;
      c = b[i]!;
      const close = closing[depth - 1]!;
      if (c === close) {
        i++;
        depth--;
        continue;
      }
      if (c !== COMMA) return false;
      i++;
      if (close === 0x7d) {
        const k = i;
        i = printedStringEnd(b, i, end);
        if (i < 0 || i >= end || b[i] !== COLON) return false;
        if (compareBytes(b, keyFrom[depth - 1]!, keyTo[depth - 1]!, k, i) >= 0) return false;
        keyFrom[depth - 1] = k;
        keyTo[depth - 1] = i;
        i++;
      }
      continue value;
    }
  }
}

function matches(b: Buffer, i: number, end: number, word: Buffer): boolean {
  if (i + word.length > end) return false;
  for (let k = 1; k < word.length; k++) if (b[i + k] !== word[k]) return false;
  return true;
}

/** Bytewise order of b[a, ae) and b[c, ce). */
export function compareBytes(b: Buffer, a: number, ae: number, c: number, ce: number): number {
  const n = Math.min(ae - a, ce - c);
  for (let k = 0; k < n; k++) {
    const d = b[a + k]! - b[c + k]!;
    if (d !== 0) return d;
  }
  return ae - a - (ce - c);
}

/** The end of the string at b[i] if JSON.stringify would print its value the same way, else -1. */
function printedStringEnd(b: Buffer, i: number, end: number): number {
  if (i >= end || b[i] !== Q) return -1;
  for (let j = i + 1; j < end;) {
    const x = b[j]!;
    if (x === Q) return j + 1;
    if (x < 0x20) return -1;
    if (x !== BACKSLASH) {
      if (x >= 0x80) sawHigh = true;
      j++;
      continue;
    }
    if (j + 1 >= end) return -1;
    const e = b[j + 1]!;
    if (e === Q || e === BACKSLASH || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
      j += 2;
      continue;
    }
    // \u00xx: only for control characters without a short escape, in lowercase hex.
    if (e !== 0x75 || j + 5 >= end || b[j + 2] !== 0x30 || b[j + 3] !== 0x30) return -1;
    const h = b[j + 4]!;
    const l = b[j + 5]!;
    if (h !== 0x30 && h !== 0x31) return -1;
    const low = l >= 0x30 && l <= 0x39 ? l - 0x30 : l >= 0x61 && l <= 0x66 ? l - 0x57 : -1;
    if (low < 0) return -1;
    const code = (h - 0x30) * 16 + low;
    if (code === 0x08 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d) return -1;
    j += 6;
  }
  return -1;
}

/** The end of the integer at b[i] if it prints back the same (≤ 15 digits, no -0, no fraction or exponent), else -1. */
function printedIntegerEnd(b: Buffer, i: number, end: number): number {
  const neg = b[i] === 0x2d;
  let j = neg ? i + 1 : i;
  if (j >= end) return -1;
  const first = b[j]!;
  if (first === 0x30) {
    if (neg) return -1;
    j++;
  } else if (first >= 0x31 && first <= 0x39) {
    const from = j;
    while (j < end && b[j]! >= 0x30 && b[j]! <= 0x39) j++;
    if (j - from > 15) return -1;
  } else return -1;
  if (j < end && (b[j] === 0x2e || b[j] === 0x65 || b[j] === 0x45 || (b[j]! >= 0x30 && b[j]! <= 0x39)))
    return -1;
  return j;
}
