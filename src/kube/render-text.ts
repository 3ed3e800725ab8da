/**
 * Protobuf object bodies straight to the compact JSON text kube-apiserver serves, written as UTF-8 bytes
 * without building the object first: the same plans, Go rules, special types and unknown-field reports as
 * ProtoRenderer (render-proto.ts), whose `stringifyJson(object, 0)` text it equals character for character
 * (the unit and apiserver tests hold it to that). For bulk JSON output (decode-many.ts), where building and
 * then serializing every object costs about twice as much.
 *
 * What it does not print itself it leaves to the object path by throwing TextFallback: a struct whose inline
 * fields could repeat a JSON name (Object.assign semantics), an inline field that is not a struct, a top-level
 * field named kind or apiVersion, and maps whose entries are out of order while their values can report
 * unknown fields (reports would come in another order).
 */
import { isUtf8 } from 'node:buffer';
import {
  ABSENT_CONST,
  ABSENT_SKIP,
  EMPTY_MAP,
  EMPTY_NEVER,
  EMPTY_PTR,
  EMPTY_SCALAR,
  EMPTY_SLICE,
  FIELD_REPEATED,
  FIELD_SINGLE,
  OP_BYTES,
  OP_FLOAT32,
  OP_FLOAT64,
  OP_MISSING,
  OP_NULL,
  OP_SPECIAL,
  OP_STRING,
  OP_STRUCT,
  OP_WRAPPED,
  SP_MICROTIME,
  SP_RAWJSON,
  planNames,
  planOf,
  ProtoRenderer,
  stack,
  structPlan,
  type Codec,
  type FieldPlan,
  type JsonValue,
  type StructPlan,
} from './render-proto.js';
import { nextRecord, packedVarints, WIRE_BYTES, WIRE_VARINT } from './protowire.js';
import { utf8Text } from './text.js';
import { goStringCompare, orderedKeys, stringifyJson } from '../util/json.js';

/** The text path gives up on this object: the caller decodes it the object way. */
export class TextFallback extends Error {
  constructor(why: string) {
    super(`text path: ${why}`);
  }
}

/** JSON.stringify's escapes for the bytes below 0x20 (short forms, else \u00xx in lowercase hex). */
const CONTROL_ESCAPES: Buffer[] = Array.from({ length: 0x20 }, (_, c) =>
  Buffer.from(JSON.stringify(String.fromCharCode(c)).slice(1, -1), 'latin1'),
);

/** Strings longer than this (bytes) are copied through native calls rather than a byte loop. */
const LONG_STRING = 256;
const Q = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const BACKSLASH = 0x5c;
const NULL_TEXT = Buffer.from('null');
const TRUE_TEXT = Buffer.from('true');
const FALSE_TEXT = Buffer.from('false');

/** Whether a struct (inline fields expanded) can be printed member by member: no JSON name twice. */
function membersOk(schema: ProtoTextRenderer['schema'], plan: StructPlan): boolean {
  planNames(schema, plan);
  return plan.namesUnique && !plan.takesAll;
}

/** topLevelOk's answers. */
const topLevel = new WeakMap<StructPlan, boolean>();

/** The output buffer every renderer writes into (rendering is synchronous); kept unless it grew large. */
let shared: Buffer = Buffer.allocUnsafe(1 << 16);
const KEEP_BYTES = 4 << 20;

export class ProtoTextRenderer extends ProtoRenderer {
  private o: Buffer = shared;
  private p = 0;
  /** Whether every byte written so far is ASCII (then the text is made without UTF-8 decoding). */
  private ascii = true;
  /**
   * Long strings, kept as JSON texts rather than copied into the bytes: (byte offset, text) pairs, in order.
   * Never part of an omitted value: they hold a non-empty protobuf string, which no empty or zero value has.
   */
  private long: (number | string)[] = [];

  /**
   * `{"kind":…,"apiVersion":…` and the fields of the message `bytes[start, end)` of struct type `typeName`, with
   * metadata.resourceVersion set, as ProtoRenderer.message renders it into `{kind, apiVersion}`. Throws
   * TextFallback (or what scanning malformed bytes throws) when the object path must do it.
   */
  objectText(
    typeName: string,
    kind: string,
    apiVersion: string,
    bytes: Uint8Array,
    resourceVersion: string | undefined,
    start: number,
    end: number,
  ): string {
    const plan = structPlan(this.schema, typeName);
    if (!plan) throw new TextFallback(`no plan for ${typeName}`);
    if (!this.topLevelOk(plan)) throw new TextFallback(`${typeName} has names the object path merges`);
    this.p = 0;
    this.ascii = true;
    this.long.length = 0;
    this.writeByte(0x7b);
    this.writeAscii('"kind":');
    this.writeString(kind);
    this.writeAscii(',"apiVersion":');
    this.writeString(apiVersion);
    this.within(plan, bytes, resourceVersion, '', () => this.members(plan, start, end, false));
    if (resourceVersion !== undefined && !this.rvPlaced)
      throw new TextFallback('metadata.resourceVersion has no place in the message');
    this.writeByte(0x7d);
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

  /**
   * Whether no member of `plan` can be named kind or apiVersion (the object path would overwrite the ones it
   * starts with, in place). An inline field that is never stored and whose zero adds nothing (TypeMeta)
   * adds no names.
   */
  private topLevelOk(plan: StructPlan): boolean {
    let ok = topLevel.get(plan);
    if (ok !== undefined) return ok;
    ok =
      membersOk(this.schema, plan) &&
      plan.fields.every((f) => {
        if (!f.inline) return f.json !== 'kind' && f.json !== 'apiVersion';
        if (f.slot < 0) {
          if (f.absent === ABSENT_SKIP) return true;
          const z = f.absent === ABSENT_CONST ? f.absentZero.value : this.codecZero(f.absentZero.codec!);
          if (z === null || typeof z !== 'object' || Array.isArray(z) || Object.keys(z).length === 0)
            return true;
        }
        const inner = f.codec.op === OP_STRUCT ? structPlan(this.schema, f.codec.name) : undefined;
        if (!inner) return false;
        const names = planNames(this.schema, inner);
        return !names.has('kind') && !names.has('apiVersion');
      });
    topLevel.set(plan, ok);
    return ok;
  }

  // --- output ------------------------------------------------------------------------------------------

  private room(n: number): Buffer {
    if (this.p + n > this.o.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.o.length * 2, this.p + n + 4096));
      this.o.copy(bigger, 0, 0, this.p);
      this.o = bigger;
    }
    return this.o;
  }

  private writeByte(b: number): void {
    this.room(1)[this.p++] = b;
  }

  private writeBytes(b: Buffer): void {
    const o = this.room(b.length);
    let p = this.p;
    for (let i = 0; i < b.length; i++) o[p++] = b[i]!;
    this.p = p;
  }

  /** ASCII text as it is. */
  private writeAscii(s: string): void {
    this.p += this.room(s.length).write(s, this.p, 'latin1');
  }

  /** Text that may hold non-ASCII characters, as UTF-8. */
  private writeUtf8(s: string): void {
    const n = this.room(s.length * 3).write(s, this.p, 'utf8');
    if (n !== s.length) this.ascii = false;
    this.p += n;
  }

  private writeString(s: string): void {
    this.writeUtf8(JSON.stringify(s));
  }

  /** A JSON value as stringifyJson prints it (special types, zero values, parsed raw JSON). */
  private writeValue(v: JsonValue): void {
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
  private writeStringAt(buf: Buffer, pos: number, len: number): void {
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

  // --- structure -----------------------------------------------------------------------------------------

  /** `,"json":` (without the comma for the first member). */
  private writeKey(f: FieldPlan, first: boolean): void {
    const k = (f.keyJson ??= Buffer.from(`,${JSON.stringify(f.json)}:`));
    const o = this.room(k.length);
    let p = this.p;
    for (let i = first ? 1 : 0; i < k.length; i++) o[p++] = k[i]!;
    this.p = p;
  }

  /** Whether the value text written from `from` is what Go's omitempty omits for a field of this kind. */
  private emptyText(kind: number, from: number): boolean {
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

  /** Go's omitzero for the value text written from `from` (ProtoRenderer.isZeroField on the text). */
  private zeroText(f: FieldPlan, from: number): boolean {
    if (f.empty !== EMPTY_NEVER) return this.emptyText(f.empty, from) && !(this.o[from] === 0x5b);
    const zero = this.codecZeroJson(f.codec);
    const n = this.p - from;
    if (n !== zero.length) return false;
    return this.o.toString('latin1', from, this.p) === zero;
  }

  /**
   * Writes the members of the message buf[pos, end) of `plan` (ProtoRenderer.build's walk); `first`: no
   * member is written yet in the object being printed. Returns whether that is still so.
   */
  private members(plan: StructPlan, pos: number, end: number, first: boolean): boolean {
    const base = this.scan(plan, pos, end);
    const ns = plan.nslots;
    const fields = plan.fields;
    let rvAt = -1;
    if (this.rvArmed && plan.rvIndex >= 0) {
      rvAt = plan.rvIndex;
      this.rvArmed = false;
      this.rvPlaced = true;
    }
    this.depth++;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!;
      const head = f.slot >= 0 ? stack()[base + f.slot]! : -1;
      const mark = this.p;
      const longMark = this.long.length;
      const wasFirst = first;
      if (i !== rvAt && head < 0) {
        if (f.absent === ABSENT_SKIP) continue;
        const z = f.absent === ABSENT_CONST ? f.absentZero.value : this.codecZero(f.absentZero.codec!);
        if (f.inline) {
          if (z !== null && typeof z === 'object' && !Array.isArray(z)) {
            if (!membersOk(this.schema, plan))
              throw new TextFallback(`${plan.name} has names the object path merges`);
            first = this.objectMembers(z, first);
          }
          continue;
        }
        this.writeKey(f, first);
        first = false;
        const from = this.p;
        this.writeValue(z);
        if ((f.omitempty || f.omitzero) && this.omitted(f, from, mark, longMark)) first = wasFirst;
        continue;
      }
      if (i === rvAt) {
        if (f.inline) continue;
        this.writeKey(f, first);
        first = false;
        const from = this.p;
        this.writeString(this.rv!);
        if ((f.omitempty || f.omitzero) && this.omitted(f, from, mark, longMark)) first = wasFirst;
        continue;
      }
      const c = f.codec;
      const track = c.mayReport && !f.inline;
      if (track) this.push(f.seg);
      if (f.isMetadata && this.depth === 1 && this.rv !== undefined) this.rvArmed = true;
      if (f.inline) {
        if (f.mode !== FIELD_SINGLE || c.op !== OP_STRUCT)
          throw new TextFallback('an inline field that is not a struct');
        if (!membersOk(this.schema, plan))
          throw new TextFallback(`${plan.name} has names the object path merges`);
        const ip = planOf(this.schema, c);
        const S = stack();
        const t = S[base + ns + f.slot]!;
        const wire = S[t]!;
        const at = S[t + 1]!;
        first = this.members(ip, at, wire === WIRE_VARINT ? at : at + S[t + 2]!, first);
      } else {
        this.writeKey(f, first);
        first = false;
        const from = this.p;
        if (f.mode === FIELD_SINGLE) {
          const S = stack();
          const t = S[base + ns + f.slot]!;
          this.writeOne(c, S[t]!, S[t + 1]!, S[t + 2]!);
        } else if (f.mode === FIELD_REPEATED) this.repeatedText(c, head);
        else this.mapText(f, head);
        if ((f.omitempty || f.omitzero) && this.omitted(f, from, mark, longMark)) first = wasFirst;
      }
      this.rvArmed = false;
      if (track) this.plen--;
    }
    this.depth--;
    const u = stack()[base + 2 * ns]!;
    if (u >= 0) this.reportUnknown(u);
    this.release(base);
    return first;
  }

  /** Takes back the member written from `mark` when omitempty/omitzero omits its value; returns whether it did. */
  private omitted(f: FieldPlan, from: number, mark: number, longMark: number): boolean {
    if (this.long.length !== longMark) return false;
    if ((f.omitempty && this.emptyText(f.empty, from)) || (f.omitzero && this.zeroText(f, from))) {
      this.p = mark;
      return true;
    }
    return false;
  }

  /** The members of an object value (an inline field's zero value), as Object.assign would add them. */
  private objectMembers(v: { [key: string]: JsonValue }, first: boolean): boolean {
    for (const k of orderedKeys(v)) {
      if (!first) this.writeByte(COMMA);
      first = false;
      this.writeString(k);
      this.writeByte(COLON);
      this.writeValue(v[k]!);
    }
    return first;
  }

  /** One value of codec `c` from one record (ProtoRenderer.one). */
  private writeOne(c: Codec, wire: number, pos: number, len: number): void {
    const op = c.op;
    if (op === OP_STRING) {
      if (wire === WIRE_VARINT) this.writeAscii('""');
      else this.writeStringAt(this.buf, pos, len);
      return;
    }
    if (op < OP_STRUCT) return this.scalarText(op, wire, pos, len);
    if (wire === WIRE_VARINT) len = 0;
    switch (op) {
      case OP_STRUCT:
        this.writeByte(0x7b);
        this.members(planOf(this.schema, c), pos, pos + len, true);
        this.writeByte(0x7d);
        return;
      case OP_SPECIAL: {
        if (c.special === SP_RAWJSON && this.writeRawJson(pos, pos + len)) return;
        const v = this.special(c, pos, pos + len);
        // Times are printed by go-format.ts in ASCII characters that need no escape (durations may hold µ).
        if (c.special <= SP_MICROTIME && typeof v === 'string') {
          this.writeByte(Q);
          this.writeAscii(v);
          this.writeByte(Q);
          return;
        }
        return this.writeValue(v);
      }
      case OP_MISSING:
        if (len > 0) this.report(0, WIRE_BYTES, this.buf.toString('hex', pos, pos + len));
        return this.writeBytes(NULL_TEXT);
      case OP_WRAPPED: {
        const e = pos + len;
        const r = this.rec;
        const found: number[] = [];
        while (pos < e) {
          pos = nextRecord(this.buf, pos, e, this.where, r);
          if (r.num === 1) found.push(r.wire, r.pos, r.len);
        }
        const from = this.p;
        this.writeByte(0x5b);
        let n = 0;
        for (let i = 0; i < found.length; i += 3)
          n = this.writeItems(c.elem!, found[i]!, found[i + 1]!, found[i + 2]!, n);
        this.closeList(from, n);
        return;
      }
      default:
        return this.writeBytes(NULL_TEXT);
    }
  }

  /**
   * A raw JSON field (RawExtension, FieldsV1: its last field-1 record) copied as stored when the stored text
   * is what parsing and printing it would give anyway (isPrintedJson); false leaves it to `special`.
   */
  private writeRawJson(pos: number, end: number): boolean {
    const buf = this.buf;
    const r = this.rec;
    let w1 = -1;
    let p1 = 0;
    let l1 = 0;
    while (pos < end) {
      pos = nextRecord(buf, pos, end, this.where, r);
      if (r.num === 1) {
        w1 = r.wire;
        p1 = r.pos;
        l1 = r.len;
      }
    }
    if (w1 !== WIRE_BYTES || l1 === 0 || !isPrintedJson(buf, p1, p1 + l1)) return false;
    const o = this.room(l1);
    buf.copy(o, this.p, p1, p1 + l1);
    this.p += l1;
    if (sawHigh) this.ascii = false;
    return true;
  }

  private scalarText(op: number, wire: number, pos: number, len: number): void {
    if (op === OP_BYTES) {
      if (wire === WIRE_VARINT) this.writeAscii('""');
      else this.writeAscii(`"${this.buf.toString('base64', pos, pos + len)}"`);
      return;
    }
    if (op === OP_NULL) return this.writeBytes(NULL_TEXT);
    const v = this.scalar(op, wire, pos, len);
    if (typeof v === 'boolean') return this.writeBytes(v ? TRUE_TEXT : FALSE_TEXT);
    if ((op === OP_FLOAT64 || op === OP_FLOAT32) && !Number.isFinite(v)) return this.writeBytes(NULL_TEXT);
    this.writeAscii(String(v));
  }

  /** `]` after n items written from `from` (after its `[`), or `null` in place of no items. */
  private closeList(from: number, n: number): void {
    if (n === 0) {
      this.p = from;
      this.writeBytes(NULL_TEXT);
    } else this.writeByte(0x5d);
  }

  private repeatedText(c: Codec, head: number): void {
    const from = this.p;
    this.writeByte(0x5b);
    let n = 0;
    for (let t = head; t >= 0; t = stack()[t + 3]!) {
      const S = stack();
      n = this.writeItems(c, S[t]!, S[t + 1]!, S[t + 2]!, n);
    }
    this.closeList(from, n);
  }

  /** The item(s) one record of a repeated field holds (ProtoRenderer.addItems), after n items; returns the count. */
  private writeItems(c: Codec, wire: number, pos: number, len: number, n: number): number {
    if (c.packable && wire === WIRE_BYTES) {
      packedVarints(this.buf, pos, pos + len, this.where, (p, l) => {
        if (n++ > 0) this.writeByte(COMMA);
        this.writeOne(c, WIRE_VARINT, p, l);
      });
      return n;
    }
    if (n > 0) this.writeByte(COMMA);
    if (c.mayReport) {
      this.push(n);
      this.writeOne(c, wire, pos, len);
      this.plen--;
    } else this.writeOne(c, wire, pos, len);
    return n + 1;
  }

  private mapText(f: FieldPlan, head: number): void {
    // Each entry's key and value records: wire, position, length of each (wire -1: absent).
    const recs: number[] = [];
    const buf = this.buf;
    const r = this.rec;
    // String keys in strictly increasing byte order, all ASCII (most maps: labels, annotations, data): the
    // keys print from their bytes, in the order stored. Else the keys are decoded, sorted as Go sorts them.
    let inOrder = f.keyOp === OP_STRING;
    let prev = -1;
    for (let t = head; t >= 0; t = stack()[t + 3]!) {
      let kw = -1;
      let kp = 0;
      let kl = 0;
      let vw = -1;
      let vp = 0;
      let vl = 0;
      const S = stack();
      if (S[t]! !== WIRE_VARINT) {
        let p = S[t + 1]!;
        const e = p + S[t + 2]!;
        while (p < e) {
          p = nextRecord(buf, p, e, this.where, r);
          if (r.num === 1) {
            kw = r.wire;
            kp = r.pos;
            kl = r.len;
          } else if (r.num === 2) {
            vw = r.wire;
            vp = r.pos;
            vl = r.len;
          }
        }
      }
      // A string key read from a varint record (or none) is "".
      if (kw < 0 || kw === WIRE_VARINT) kl = 0;
      if (inOrder) {
        for (let k = kp; k < kp + kl; k++) if (buf[k]! >= 0x80) inOrder = false;
        if (
          prev >= 0 &&
          compareBytes(buf, recs[prev + 1]!, recs[prev + 1]! + recs[prev + 2]!, kp, kp + kl) >= 0
        )
          inOrder = false;
      }
      prev = recs.length;
      recs.push(kw, kp, kl, vw, vp, vl);
    }
    if (inOrder) return this.mapEntries(f, recs, undefined, undefined);
    const keys: string[] = [];
    let sorted = true;
    for (let i = 0; i < recs.length; i += 6) {
      const kw = recs[i]!;
      const key = kw < 0 ? '' : String(this.scalar(f.keyOp, kw, recs[i + 1]!, recs[i + 2]!));
      if (sorted && keys.length > 0 && goStringCompare(keys[keys.length - 1]!, key) >= 0) sorted = false;
      keys.push(key);
    }
    // Go prints map keys sorted by their UTF-8 bytes; a repeated key keeps its last value at its place.
    let order: number[] | undefined;
    if (!sorted) {
      // The object path decodes values in record order: reports would come in another order here.
      if (f.codec.mayReport) throw new TextFallback('a map out of order');
      order = keys.map((_, i) => i);
      order.sort((a, b) => goStringCompare(keys[a]!, keys[b]!) || a - b);
    }
    this.mapEntries(f, recs, keys, order);
  }

  /**
   * Writes a map's entries (`recs`: six numbers each) in `order` (default: as stored), keys from `keys`, or
   * from their bytes when `keys` is undefined (ASCII string keys).
   */
  private mapEntries(
    f: FieldPlan,
    recs: number[],
    keys: string[] | undefined,
    order: number[] | undefined,
  ): void {
    const c = f.codec;
    this.writeByte(0x7b);
    const n = recs.length / 6;
    let written = 0;
    for (let j = 0; j < n; j++) {
      const i = order ? order[j]! : j;
      const at = 6 * i;
      // A key that comes again: its value is decoded (as the object path does) and dropped.
      const dropped = order !== undefined && j + 1 < n && keys![order[j + 1]!] === keys![i];
      const mark = this.p;
      const longMark = this.long.length;
      if (written > 0) this.writeByte(COMMA);
      if (keys) this.writeString(keys[i]!);
      else this.writeStringAt(this.buf, recs[at + 1]!, recs[at + 2]!);
      this.writeByte(COLON);
      const vw = recs[at + 3]!;
      if (vw < 0) this.writeValue(this.zeroValue(f.elemZero!));
      else if (c.mayReport) {
        const key = keys
          ? keys[i]!
          : this.buf.toString('latin1', recs[at + 1]!, recs[at + 1]! + recs[at + 2]!);
        this.push(`.${key}`);
        this.writeOne(c, vw, recs[at + 4]!, recs[at + 5]!);
        this.plen--;
      } else this.writeOne(c, vw, recs[at + 4]!, recs[at + 5]!);
      if (dropped) {
        this.p = mark;
        this.long.length = longMark;
      } else written++;
    }
    this.writeByte(0x7d);
  }
}

/** isPrintedJson's stacks, by depth: the closing byte of the open container, the previous key's bytes. */
const closing: number[] = [];
const keyFrom: number[] = [];
const keyTo: number[] = [];
/** Whether the last isPrintedJson call saw non-ASCII bytes (then valid UTF-8). */
let sawHigh = false;

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
function compareBytes(b: Buffer, a: number, ae: number, c: number, ce: number): number {
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
