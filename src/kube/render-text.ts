/**
 * Protobuf object bodies straight to the compact JSON text kube-apiserver serves, written as UTF-8 bytes
 * without building the object first: the same plans, Go rules, special types and unknown-field reports as
 * ProtoRenderer (render-proto.ts), whose `stringifyJson(object, 0)` text it equals character for character
 * (the unit and apiserver tests hold it to that). For bulk JSON output (decode-many.ts): on the bench file's
 * protobuf objects it takes ≈ 30% less time than building each object and serializing it. The bytes are
 * written by TextOut (text-out.ts).
 *
 * members/writeOne/repeatedText/mapText follow ProtoRenderer's build/one/repeated/map step for step, writing
 * where those build: a change to one side must be made to the other (the equality tests fail when they drift).
 *
 * What it does not print itself it leaves to the object path by throwing TextFallback: a struct whose inline
 * fields could repeat a JSON name (Object.assign semantics), an inline field that is not a struct, a top-level
 * field named kind or apiVersion, and maps whose entries are out of order while their values can report
 * unknown fields (reports would come in another order).
 */
import { ProtoRenderer, stack, type JsonValue } from './render-proto.js';
import {
  ABSENT_CONST,
  ABSENT_SKIP,
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
  structPlan,
  type Codec,
  type FieldPlan,
  type StructPlan,
} from './plan.js';
import { nextRecord, packedVarints, WIRE_BYTES, WIRE_VARINT } from './protowire.js';
import {
  COLON,
  COMMA,
  compareBytes,
  FALSE_TEXT,
  isPrintedJson,
  NULL_TEXT,
  printedHigh,
  Q,
  TextOut,
  TRUE_TEXT,
} from './text-out.js';
import { goStringCompare, orderedKeys } from '../util/json.js';

/** The text path gives up on this object: the caller decodes it the object way. */
export class TextFallback extends Error {
  constructor(why: string) {
    super(`text path: ${why}`);
  }
}

/** Whether a struct (inline fields expanded) can be printed member by member: no JSON name twice. */
function membersOk(schema: ProtoTextRenderer['schema'], plan: StructPlan): boolean {
  planNames(schema, plan);
  return plan.namesUnique && !plan.takesAll;
}

/** topLevelOk's answers. */
const topLevel = new WeakMap<StructPlan, boolean>();

export class ProtoTextRenderer extends ProtoRenderer {
  private readonly w = new TextOut();
  /**
   * Leave out the top-level metadata.managedFields, as `present` (present.ts) does. They are still rendered
   * (then taken back), so that unknown fields in them are reported as the object path reports them.
   */
  hideManagedFields = false;
  private mfArmed = false;

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
    this.mfArmed = false;
    this.w.begin();
    this.w.writeByte(0x7b);
    this.w.writeAscii('"kind":');
    this.w.writeString(kind);
    this.w.writeAscii(',"apiVersion":');
    this.w.writeString(apiVersion);
    this.within(plan, bytes, resourceVersion, '', () => this.members(plan, start, end, false));
    if (resourceVersion !== undefined && !this.rvPlaced)
      throw new TextFallback('metadata.resourceVersion has no place in the message');
    this.w.writeByte(0x7d);
    return this.w.finish();
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

  // --- structure -----------------------------------------------------------------------------------------

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
    let mfAt = -1;
    if (this.mfArmed) {
      mfAt = plan.mfIndex;
      this.mfArmed = false;
    }
    this.depth++;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!;
      const head = f.slot >= 0 ? stack()[base + f.slot]! : -1;
      if (i !== rvAt && head < 0) {
        if (f.absent === ABSENT_SKIP) continue;
        if (f.inline) {
          const z = f.absent === ABSENT_CONST ? f.absentZero.value : this.codecZero(f.absentZero.codec!);
          if (z !== null && typeof z === 'object' && !Array.isArray(z)) {
            if (!membersOk(this.schema, plan))
              throw new TextFallback(`${plan.name} has names the object path merges`);
            first = this.objectMembers(z, first);
          }
          continue;
        }
        // The zero value's text, and whether omitempty/omitzero leave it out, are the same every time.
        let text = f.absentJson;
        if (text === undefined) text = f.absentJson = this.absentText(f);
        if (text === null) continue;
        this.w.writeKey(f, first);
        first = false;
        this.w.writeBytes(text);
        continue;
      }
      const mark = this.w.p;
      const longMark = this.w.long.length;
      const wasFirst = first;
      if (i === rvAt) {
        if (f.inline) continue;
        this.w.writeKey(f, first);
        first = false;
        const from = this.w.p;
        this.w.writeString(this.rv!);
        if ((f.omitempty || f.omitzero) && this.w.omitted(f, from, mark, longMark, this)) first = wasFirst;
        continue;
      }
      const c = f.codec;
      const track = c.mayReport && !f.inline;
      if (track) this.push(f.seg);
      if (f.isMetadata && this.depth === 1) {
        if (this.rv !== undefined) this.rvArmed = true;
        this.mfArmed = this.hideManagedFields;
      }
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
        this.w.writeKey(f, first);
        first = false;
        const from = this.w.p;
        if (f.mode === FIELD_SINGLE) {
          const S = stack();
          const t = S[base + ns + f.slot]!;
          this.writeOne(c, S[t]!, S[t + 1]!, S[t + 2]!);
        } else if (f.mode === FIELD_REPEATED) this.repeatedText(c, head);
        else this.mapText(f, head);
        if ((f.omitempty || f.omitzero) && this.w.omitted(f, from, mark, longMark, this)) first = wasFirst;
        if (i === mfAt) {
          this.w.p = mark;
          this.w.long.length = longMark;
          first = wasFirst;
        }
      }
      this.rvArmed = false;
      this.mfArmed = false;
      if (track) this.plen--;
    }
    this.depth--;
    const u = stack()[base + 2 * ns]!;
    if (u >= 0) this.reportUnknown(u);
    this.release(base);
    return first;
  }

  /**
   * An absent field's value text (its Go zero value), or null when omitempty/omitzero leave it out: written
   * once at the end of the output to see, then taken back.
   */
  private absentText(f: FieldPlan): Buffer | null {
    const w = this.w;
    const z = f.absent === ABSENT_CONST ? f.absentZero.value : this.codecZero(f.absentZero.codec!);
    const mark = w.p;
    const ascii = w.ascii;
    w.writeKey(f, true);
    const from = w.p;
    w.writeValue(z);
    if ((f.omitempty || f.omitzero) && w.omitted(f, from, mark, w.long.length, this)) return null;
    const text = Buffer.from(w.o.subarray(from, w.p));
    w.p = mark;
    // (Go zero values are ASCII: "", 0, false, null and structs of them.)
    if (!w.ascii) throw new TextFallback(`${f.json}: a zero value that is not ASCII`);
    w.ascii = ascii;
    return text;
  }

  /** The members of an object value (an inline field's zero value), as Object.assign would add them. */
  private objectMembers(v: { [key: string]: JsonValue }, first: boolean): boolean {
    for (const k of orderedKeys(v)) {
      if (!first) this.w.writeByte(COMMA);
      first = false;
      this.w.writeString(k);
      this.w.writeByte(COLON);
      this.w.writeValue(v[k]!);
    }
    return first;
  }

  /** One value of codec `c` from one record (ProtoRenderer.one). */
  private writeOne(c: Codec, wire: number, pos: number, len: number): void {
    const op = c.op;
    if (op === OP_STRING) {
      if (wire === WIRE_VARINT) this.w.writeAscii('""');
      else this.w.writeStringAt(this.buf, pos, len);
      return;
    }
    if (op < OP_STRUCT) return this.scalarText(op, wire, pos, len);
    if (wire === WIRE_VARINT) len = 0;
    switch (op) {
      case OP_STRUCT:
        this.w.writeByte(0x7b);
        this.members(planOf(this.schema, c), pos, pos + len, true);
        this.w.writeByte(0x7d);
        return;
      case OP_SPECIAL: {
        if (c.special === SP_RAWJSON && this.writeRawJson(pos, pos + len)) return;
        const v = this.special(c, pos, pos + len);
        // Times are printed by go-format.ts in ASCII characters that need no escape (durations may hold µ).
        if (c.special <= SP_MICROTIME && typeof v === 'string') {
          this.w.writeByte(Q);
          this.w.writeAscii(v);
          this.w.writeByte(Q);
          return;
        }
        return this.w.writeValue(v);
      }
      case OP_MISSING:
        if (len > 0) this.report(0, WIRE_BYTES, this.buf.toString('hex', pos, pos + len));
        return this.w.writeBytes(NULL_TEXT);
      case OP_WRAPPED: {
        const e = pos + len;
        const r = this.rec;
        const found: number[] = [];
        while (pos < e) {
          pos = nextRecord(this.buf, pos, e, this.where, r);
          if (r.num === 1) found.push(r.wire, r.pos, r.len);
        }
        const from = this.w.p;
        this.w.writeByte(0x5b);
        let n = 0;
        for (let i = 0; i < found.length; i += 3)
          n = this.writeItems(c.elem!, found[i]!, found[i + 1]!, found[i + 2]!, n);
        this.closeList(from, n);
        return;
      }
      default:
        return this.w.writeBytes(NULL_TEXT);
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
    this.w.copy(buf, p1, p1 + l1, printedHigh());
    return true;
  }

  private scalarText(op: number, wire: number, pos: number, len: number): void {
    if (op === OP_BYTES) {
      if (wire === WIRE_VARINT) this.w.writeAscii('""');
      else this.w.writeAscii(`"${this.buf.toString('base64', pos, pos + len)}"`);
      return;
    }
    if (op === OP_NULL) return this.w.writeBytes(NULL_TEXT);
    const v = this.scalar(op, wire, pos, len);
    if (typeof v === 'boolean') return this.w.writeBytes(v ? TRUE_TEXT : FALSE_TEXT);
    if ((op === OP_FLOAT64 || op === OP_FLOAT32) && !Number.isFinite(v)) return this.w.writeBytes(NULL_TEXT);
    if (typeof v === 'number' && v >= 0 && v < 0x40000000 && (v | 0) === v) return this.w.writeSmallInt(v);
    this.w.writeAscii(String(v));
  }

  /** `]` after n items written from `from` (after its `[`), or `null` in place of no items. */
  private closeList(from: number, n: number): void {
    if (n === 0) {
      this.w.p = from;
      this.w.writeBytes(NULL_TEXT);
    } else this.w.writeByte(0x5d);
  }

  private repeatedText(c: Codec, head: number): void {
    const from = this.w.p;
    this.w.writeByte(0x5b);
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
        if (n++ > 0) this.w.writeByte(COMMA);
        this.writeOne(c, WIRE_VARINT, p, l);
      });
      return n;
    }
    if (n > 0) this.w.writeByte(COMMA);
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
    this.w.writeByte(0x7b);
    const n = recs.length / 6;
    let written = 0;
    for (let j = 0; j < n; j++) {
      const i = order ? order[j]! : j;
      const at = 6 * i;
      // A key that comes again: its value is decoded (as the object path does) and dropped.
      const dropped = order !== undefined && j + 1 < n && keys![order[j + 1]!] === keys![i];
      const mark = this.w.p;
      const longMark = this.w.long.length;
      if (written > 0) this.w.writeByte(COMMA);
      if (keys) this.w.writeString(keys[i]!);
      else this.w.writeStringAt(this.buf, recs[at + 1]!, recs[at + 2]!);
      this.w.writeByte(COLON);
      const vw = recs[at + 3]!;
      if (vw < 0) this.w.writeValue(this.zeroValue(f.elemZero!));
      else if (c.mayReport) {
        const key = keys
          ? keys[i]!
          : this.buf.toString('latin1', recs[at + 1]!, recs[at + 1]! + recs[at + 2]!);
        this.push(`.${key}`);
        this.writeOne(c, vw, recs[at + 4]!, recs[at + 5]!);
        this.plen--;
      } else this.writeOne(c, vw, recs[at + 4]!, recs[at + 5]!);
      if (dropped) {
        this.w.p = mark;
        this.w.long.length = longMark;
      } else written++;
    }
    this.w.writeByte(0x7d);
  }
}
