/**
 * Protobuf object bodies → the JSON kube-apiserver serves for them, driven by the generated schema: Go's
 * encoding/json rules (struct field order, omitempty/omitzero, inline, nil slices/maps/pointers as null,
 * []byte as base64, sorted map keys) and the hand-written forms of the apimachinery types (Time, MicroTime,
 * Duration, Quantity, IntOrString, RawExtension, FieldsV1, apiextensions JSON and JSONSchemaPropsOr*).
 *
 * Each Go type is compiled once per schema into a plan (plan.ts). Decoding a message scans its records once
 * into slots on a shared scratch stack (no per-record objects), then walks the fields in struct order.
 */
import {
  ABSENT_CONST,
  ABSENT_SKIP,
  EMPTY_MAP,
  EMPTY_NEVER,
  FIELD_REPEATED,
  FIELD_SINGLE,
  OBJECT_META,
  OP_BOOL,
  OP_BYTES,
  OP_FLOAT32,
  OP_FLOAT64,
  OP_INT32,
  OP_INT64,
  OP_MISSING,
  OP_SPECIAL,
  OP_STRING,
  OP_STRUCT,
  OP_UINT32,
  OP_UINT64,
  OP_WRAPPED,
  SP_DURATION,
  SP_INTORSTRING,
  SP_MICROTIME,
  SP_PROPS_OR_ARRAY,
  SP_PROPS_OR_BOOL,
  SP_PROPS_OR_STRINGS,
  SP_QUANTITY,
  SP_RAWJSON,
  SP_TIME,
  bigintSafe,
  cloneJson,
  codecFor,
  isEmpty,
  isEmptyKind,
  planOf,
  structPlan,
  zeroSpec,
  type Codec,
  type FieldPlan,
  type StructPlan,
  type ZeroSpec,
} from './plan.js';
import { formatGoDuration, formatRfc3339, formatRfc3339Micro } from './go-format.js';
import { parseLosslessJson } from './json-value.js';
import {
  packedVarints,
  nextRecord,
  varintInt32At,
  varintInt64At,
  varintNonZeroAt,
  varintUint64At,
  WIRE_BYTES,
  WIRE_VARINT,
  type RawRecord,
} from './protowire.js';
import type { KubeSchema, TypeExpr } from './schema.js';
import { asBuffer, utf8Text } from './text.js';
import { goStringCompare, orderedObject } from '../util/json.js';

/** A JSON value as Go would print it; int64 beyond 2^53 as bigint. */
export type JsonValue =
  null | boolean | number | bigint | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** A protobuf field the schema does not know, kept (not dropped) and reported. */
export interface UnknownField {
  /** JSON path of the message that carried it, e.g. `.spec.template.spec`. */
  path: string;
  num: number;
  wire: number;
  /** Hex of the payload (varints in decimal). */
  value: string;
}

export interface RenderContext {
  schema: KubeSchema;
  /** Where the value came from (the etcd key), for error messages. */
  where: string;
  unknown: UnknownField[];
}

// ---------------------------------------------------------------------------------------------------------
// The scratch stack: per message, one head and one tail per slot plus the unknown-record list, then the
// records themselves (wire, pos, len, next, num). Decoding is synchronous, so one stack serves every decoder.

const REC = 5;
let S = new Int32Array(1 << 14);
/** Field numbers of unknown records beyond int32 (only malformed input has them), by record index. */
const hugeNums = new Map<number, number>();
let sp = 0;

function reserve(n: number): void {
  if (sp + n <= S.length) return;
  const bigger = new Int32Array(Math.max(S.length * 2, sp + n + 1024));
  bigger.set(S.subarray(0, sp));
  S = bigger;
}

/** The scratch stack as it is now (a deeper scan may replace it: read it again after one). */
export function stack(): Int32Array {
  return S;
}

const EMPTY = Buffer.alloc(0);

/** Renders protobuf messages of one storage value (`buf`) through the schema. */
export class ProtoRenderer {
  protected buf: Buffer = EMPTY;
  protected where: string;
  protected readonly schema: KubeSchema;
  protected unknown: UnknownField[];
  protected readonly rec: RawRecord = { num: 0, wire: 0, pos: 0, len: 0 };
  /** The JSON path below the message being decoded: `.field`/`.key` strings and item indexes. */
  protected readonly segs: (string | number)[] = [];
  protected plen = 0;
  protected depth = 0;
  protected rv: string | undefined;
  protected rvArmed = false;
  /** Whether the resourceVersion given to `message` was placed. */
  rvPlaced = false;

  constructor(ctx: RenderContext) {
    this.where = ctx.where;
    this.schema = ctx.schema;
    this.unknown = ctx.unknown;
  }

  /** Renders the next value for `where`, reporting into `unknown` (one renderer serves many values). */
  retarget(where: string, unknown: UnknownField[]): this {
    this.where = where;
    this.unknown = unknown;
    return this;
  }

  /**
   * Renders the message `bytes[start, end)` (whole `bytes` by default) as the struct type `name` into `out`
   * (fields are added after any it has). With `resourceVersion`, the top-level `metadata` (or the message
   * itself, when it is an ObjectMeta) gets it at its Go position. `path` prefixes reported unknown fields.
   */
  message(
    name: string,
    bytes: Uint8Array,
    out: JsonObject = {},
    resourceVersion?: string,
    start = 0,
    end = bytes.length,
    path = '',
  ): JsonObject {
    const plan = structPlan(this.schema, name);
    if (!plan) throw new Error(`internal: ${name} is not a struct type of the schema`);
    return this.within(plan, bytes, resourceVersion, path, () => this.build(plan, start, end, out));
  }

  /**
   * Runs `render` on `bytes` as a message of `plan` from the top (the JSON path `path`, `resourceVersion` to
   * place), then leaves the scratch stack and the buffer as they were.
   */
  protected within<T>(
    plan: StructPlan,
    bytes: Uint8Array,
    resourceVersion: string | undefined,
    path: string,
    render: () => T,
  ): T {
    const saved = sp;
    const savedBuf = this.buf;
    this.buf = asBuffer(bytes);
    this.depth = 0;
    this.plen = 0;
    if (path) this.push(path);
    this.rv = resourceVersion;
    this.rvArmed = resourceVersion !== undefined && plan.name === OBJECT_META;
    this.rvPlaced = false;
    try {
      return render();
    } finally {
      sp = saved;
      if (sp === 0) {
        if (hugeNums.size > 0) hugeNums.clear();
        // A very large message grew the stack: give the memory back.
        if (S.length > 1 << 20) S = new Int32Array(1 << 14);
      }
      this.buf = savedBuf;
    }
  }

  /** The Go zero value of a type, as JSON. */
  zero(expr: TypeExpr): JsonValue {
    return this.zeroValue(zeroSpec(this.schema, expr));
  }

  /** Go's omitzero test (IsZero() or the zero value). */
  isZero(expr: TypeExpr, value: JsonValue): boolean {
    if (expr.t !== 'ref') return isEmpty(expr, value) && !(Array.isArray(value) && value.length === 0);
    return this.codecZeroJson(codecFor(this.schema, expr)) === JSON.stringify(value, bigintSafe);
  }

  /** Go's omitzero test for a field of a plan. */
  isZeroField(f: FieldPlan, value: JsonValue): boolean {
    if (f.empty !== EMPTY_NEVER)
      return isEmptyKind(f.empty, value) && !(Array.isArray(value) && value.length === 0);
    const zero = this.codecZero(f.codec);
    // Fast answers where the JSON texts plainly differ: a zero of null/string/boolean against a string or an
    // object (Time's zero is null, its values are strings).
    if (zero === null || typeof zero === 'string' || typeof zero === 'boolean') {
      if (value === zero) return true;
      if (typeof value === 'string' || (typeof value === 'object' && value !== null)) return false;
    }
    return this.codecZeroJson(f.codec) === JSON.stringify(value, bigintSafe);
  }

  /** A field's zero value as JSON text (what isZeroField compares struct values with). */
  fieldZeroJson(f: FieldPlan): string {
    return this.codecZeroJson(f.codec);
  }

  zeroValue(z: ZeroSpec): JsonValue {
    return z.codec ? cloneJson(this.codecZero(z.codec)) : z.value;
  }

  protected codecZero(c: Codec): JsonValue {
    if (c.zero === undefined) {
      // Decoding no bytes never reads the buffer, reports nothing and cannot fail.
      const saved = this.plen;
      c.zero = this.one(c, WIRE_BYTES, 0, 0);
      this.plen = saved;
    }
    return c.zero;
  }

  protected codecZeroJson(c: Codec): string {
    return (c.zeroJson ??= JSON.stringify(this.codecZero(c), bigintSafe));
  }

  private pathString(): string {
    let s = '';
    for (let i = 0; i < this.plen; i++) {
      const g = this.segs[i]!;
      s += typeof g === 'number' ? `[${g}]` : g;
    }
    return s;
  }

  protected push(seg: string | number): void {
    this.segs[this.plen++] = seg;
  }

  protected report(num: number, wire: number, value: string, root = ''): void {
    this.unknown.push({ path: this.pathString() || root, num, wire, value });
  }

  private hex(pos: number, len: number): string {
    return this.buf.toString('hex', pos, pos + len);
  }

  /** Scans the records of [pos, end) onto the scratch stack; returns the base of this message's area. */
  protected scan(plan: StructPlan, pos: number, end: number): number {
    const ns = plan.nslots;
    const head = 2 * ns + 2;
    reserve(head + 16 * REC);
    const base = sp;
    S.fill(-1, base, base + head);
    let top = base + head;
    const buf = this.buf;
    const r = this.rec;
    const byNum = plan.byNum;
    const uh = base + 2 * ns;
    while (pos < end) {
      pos = nextRecord(buf, pos, end, this.where, r);
      const num = r.num;
      const slot = num < byNum.length ? byNum[num]! : -2;
      if (slot === -1) continue;
      if (top + REC > S.length) {
        sp = top;
        reserve(REC);
      }
      const s = S;
      s[top] = r.wire;
      s[top + 1] = r.pos;
      s[top + 2] = r.len;
      s[top + 3] = -1;
      if (num <= 0x7fffffff) s[top + 4] = num;
      else {
        s[top + 4] = -1;
        hugeNums.set(top, num);
      }
      const h = slot >= 0 ? base + slot : uh;
      const t = slot >= 0 ? h + ns : uh + 1;
      if (s[h]! < 0) s[h] = top;
      else s[s[t]! + 3] = top;
      s[t] = top;
      top += REC;
    }
    sp = top;
    return base;
  }

  private build(plan: StructPlan, pos: number, end: number, out: JsonObject): JsonObject {
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
      const head = f.slot >= 0 ? S[base + f.slot]! : -1;
      let value: JsonValue;
      if (i === rvAt) value = this.rv!;
      else if (head < 0) {
        if (f.absent === ABSENT_SKIP) continue;
        if (f.absent === ABSENT_CONST) value = f.absentZero.value;
        else {
          const z = this.codecZero(f.absentZero.codec!);
          // An inline struct's zero value adds no keys when it has none (TypeMeta).
          if (f.inline && z !== null && typeof z === 'object' && isEmptyKind(EMPTY_MAP, z)) continue;
          value = cloneJson(z);
        }
      } else {
        const c = f.codec;
        const track = c.mayReport && !f.inline;
        if (track) this.push(f.seg);
        if (f.isMetadata && this.depth === 1 && this.rv !== undefined) this.rvArmed = true;
        if (f.mode === FIELD_SINGLE) {
          const t = S[base + ns + f.slot]!;
          value = this.one(c, S[t]!, S[t + 1]!, S[t + 2]!);
        } else if (f.mode === FIELD_REPEATED) value = this.repeated(c, head);
        else value = this.map(f, head);
        this.rvArmed = false;
        if (track) this.plen--;
      }
      if (f.inline) {
        if (value !== null && typeof value === 'object' && !Array.isArray(value)) Object.assign(out, value);
        continue;
      }
      if (f.omitempty && isEmptyKind(f.empty, value)) continue;
      if (f.omitzero && this.isZeroField(f, value)) continue;
      out[f.json] = value;
    }
    this.depth--;
    const u = S[base + 2 * ns]!;
    if (u >= 0) this.reportUnknown(u);
    sp = base;
    return out;
  }

  /** Frees the scratch stack from a message's base (the end of `scan`'s use). */
  protected release(base: number): void {
    sp = base;
  }

  /** Reports a message's unknown records (list from `first`), grouped by field number in order of first use. */
  protected reportUnknown(first: number): void {
    const list: number[] = [];
    for (let u = first; u >= 0; u = S[u + 3]!) list.push(u);
    const numOf = (u: number): number => (S[u + 4]! >= 0 ? S[u + 4]! : hugeNums.get(u)!);
    const firstSeen = new Map<number, number>();
    list.forEach((u, i) => {
      if (!firstSeen.has(numOf(u))) firstSeen.set(numOf(u), i);
    });
    list.sort((a, b) => firstSeen.get(numOf(a))! - firstSeen.get(numOf(b))! || a - b);
    for (const u of list) {
      const wire = S[u]!;
      const p = S[u + 1]!;
      const len = S[u + 2]!;
      const value =
        wire === WIRE_VARINT ? BigInt(varintUint64At(this.buf, p, len)).toString() : this.hex(p, len);
      this.report(numOf(u), wire, value, '.');
    }
  }

  private repeated(c: Codec, head: number): JsonValue {
    const items: JsonValue[] = [];
    for (let t = head; t >= 0; t = S[t + 3]!) this.addItems(items, c, S[t]!, S[t + 1]!, S[t + 2]!);
    return items.length === 0 ? null : items;
  }

  /** Appends the item(s) one record of a repeated field holds (a varint scalar's record may be packed). */
  private addItems(items: JsonValue[], c: Codec, wire: number, pos: number, len: number): void {
    if (c.packable && wire === WIRE_BYTES) {
      packedVarints(this.buf, pos, pos + len, this.where, (p, l) =>
        items.push(this.one(c, WIRE_VARINT, p, l)),
      );
    } else if (c.mayReport) {
      this.push(items.length);
      items.push(this.one(c, wire, pos, len));
      this.plen--;
    } else items.push(this.one(c, wire, pos, len));
  }

  private map(f: FieldPlan, head: number): JsonObject {
    const keys: string[] = [];
    const vals: JsonValue[] = [];
    let sorted = true;
    const buf = this.buf;
    const r = this.rec;
    const c = f.codec;
    for (let t = head; t >= 0; t = S[t + 3]!) {
      let kw = -1;
      let kp = 0;
      let kl = 0;
      let vw = -1;
      let vp = 0;
      let vl = 0;
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
      const key = kw < 0 ? '' : String(this.scalar(f.keyOp, kw, kp, kl));
      let v: JsonValue;
      if (vw < 0) v = this.zeroValue(f.elemZero!);
      else if (c.mayReport) {
        this.push(`.${key}`);
        v = this.one(c, vw, vp, vl);
        this.plen--;
      } else v = this.one(c, vw, vp, vl);
      if (sorted && keys.length > 0 && goStringCompare(keys[keys.length - 1]!, key) >= 0) sorted = false;
      keys.push(key);
      vals.push(v);
    }
    // Go prints map keys sorted by their UTF-8 bytes; a repeated key keeps its last value.
    if (sorted) return orderedObject(keys, vals);
    const order = keys.map((_, i) => i);
    order.sort((a, b) => goStringCompare(keys[a]!, keys[b]!) || a - b);
    return orderedObject(
      order.map((i) => keys[i]!),
      order.map((i) => vals[i]!),
    );
  }

  /** A scalar from one record; a record of another wire type gives the zero value (bytes: its payload). */
  protected scalar(op: number, wire: number, pos: number, len: number): JsonValue {
    const buf = this.buf;
    switch (op) {
      case OP_STRING:
        return wire === WIRE_VARINT ? '' : utf8Text(buf, pos, pos + len);
      case OP_BYTES:
        return wire === WIRE_VARINT ? '' : buf.toString('base64', pos, pos + len);
      case OP_BOOL:
        return wire === WIRE_VARINT && varintNonZeroAt(buf, pos, len);
      case OP_INT32:
        return wire === WIRE_VARINT ? varintInt32At(buf, pos, len) : 0;
      case OP_UINT32:
        return wire === WIRE_VARINT ? varintInt32At(buf, pos, len) >>> 0 : 0;
      case OP_INT64:
        return wire === WIRE_VARINT ? varintInt64At(buf, pos, len) : 0;
      case OP_UINT64:
        return wire === WIRE_VARINT ? varintUint64At(buf, pos, len) : 0;
      case OP_FLOAT64:
        return wire !== WIRE_VARINT && len === 8 ? buf.readDoubleLE(pos) : 0;
      case OP_FLOAT32:
        return wire !== WIRE_VARINT && len === 4 ? buf.readFloatLE(pos) : 0;
      default:
        return null;
    }
  }

  /** One value of codec `c` from one record (a varint record where a message belongs reads as empty). */
  private one(c: Codec, wire: number, pos: number, len: number): JsonValue {
    const op = c.op;
    if (op < OP_STRUCT) return this.scalar(op, wire, pos, len);
    if (wire === WIRE_VARINT) len = 0;
    switch (op) {
      case OP_STRUCT:
        return this.build(c.plan ?? planOf(this.schema, c), pos, pos + len, {});
      case OP_SPECIAL:
        return this.special(c, pos, pos + len);
      case OP_MISSING:
        if (len > 0) this.report(0, WIRE_BYTES, this.hex(pos, len));
        return null;
      case OP_WRAPPED: {
        const items: JsonValue[] = [];
        const e = pos + len;
        const r = this.rec;
        const found: number[] = [];
        while (pos < e) {
          pos = nextRecord(this.buf, pos, e, this.where, r);
          if (r.num === 1) found.push(r.wire, r.pos, r.len);
        }
        for (let i = 0; i < found.length; i += 3)
          this.addItems(items, c.elem!, found[i]!, found[i + 1]!, found[i + 2]!);
        return items.length === 0 ? null : items;
      }
      default:
        return null;
    }
  }

  protected special(c: Codec, pos: number, end: number): JsonValue {
    const buf = this.buf;
    const r = this.rec;
    // The last record of fields 1, 2 and 3 (wire type, position, length); every record of field 2.
    let w1 = -1;
    let p1 = 0;
    let l1 = 0;
    let w2 = -1;
    let p2 = 0;
    let l2 = 0;
    let w3 = -1;
    let p3 = 0;
    let l3 = 0;
    const kind = c.special;
    const all2: number[] | undefined =
      kind === SP_PROPS_OR_ARRAY || kind === SP_PROPS_OR_STRINGS ? [] : undefined;
    const empty = pos >= end;
    while (pos < end) {
      pos = nextRecord(buf, pos, end, this.where, r);
      switch (r.num) {
        case 1:
          w1 = r.wire;
          p1 = r.pos;
          l1 = r.len;
          break;
        case 2:
          w2 = r.wire;
          p2 = r.pos;
          l2 = r.len;
          all2?.push(r.wire, r.pos, r.len);
          break;
        case 3:
          w3 = r.wire;
          p3 = r.pos;
          l3 = r.len;
          break;
      }
    }
    switch (kind) {
      case SP_TIME:
        if (empty) return null;
        return formatRfc3339(w1 === WIRE_VARINT ? varintInt64At(buf, p1, l1) : 0);
      case SP_MICROTIME:
        if (empty) return null;
        return formatRfc3339Micro(
          w1 === WIRE_VARINT ? varintInt64At(buf, p1, l1) : 0,
          w2 === WIRE_VARINT ? varintInt32At(buf, p2, l2) : 0,
        );
      case SP_DURATION:
        return formatGoDuration(BigInt(w1 === WIRE_VARINT ? varintInt64At(buf, p1, l1) : 0));
      case SP_QUANTITY:
        if (w1 < 0) return '0';
        return w1 === WIRE_VARINT ? '' : utf8Text(buf, p1, p1 + l1);
      case SP_INTORSTRING: {
        const type = w1 === WIRE_VARINT ? varintUint64At(buf, p1, l1) : 0;
        if (type === 1) return w3 < 0 || w3 === WIRE_VARINT ? '' : utf8Text(buf, p3, p3 + l3);
        return w2 === WIRE_VARINT ? varintInt32At(buf, p2, l2) : 0;
      }
      case SP_RAWJSON: {
        if (w1 < 0 || w1 === WIRE_VARINT || l1 === 0) return null;
        try {
          return parseLosslessJson(utf8Text(buf, p1, p1 + l1));
        } catch {
          this.report(1, WIRE_BYTES, this.hex(p1, l1));
          return null;
        }
      }
      case SP_PROPS_OR_BOOL:
        if (w2 >= 0) return this.one(c.elem!, w2, p2, l2);
        return w1 === WIRE_VARINT && varintNonZeroAt(buf, p1, l1);
      case SP_PROPS_OR_ARRAY: {
        if (all2!.length > 0) {
          const items: JsonValue[] = [];
          for (let i = 0; i < all2!.length; i += 3) {
            this.push(items.length);
            items.push(this.one(c.elem!, all2![i]!, all2![i + 1]!, all2![i + 2]!));
            this.plen--;
          }
          return items;
        }
        return w1 >= 0 ? this.one(c.elem!, w1, p1, l1) : null;
      }
      case SP_PROPS_OR_STRINGS: {
        if (all2!.length > 0) {
          const items: JsonValue[] = [];
          for (let i = 0; i < all2!.length; i += 3) {
            const w = all2![i]!;
            const p = all2![i + 1]!;
            items.push(w === WIRE_VARINT ? '' : utf8Text(buf, p, p + all2![i + 2]!));
          }
          return items;
        }
        return w1 >= 0 ? this.one(c.elem!, w1, p1, l1) : null;
      }
      default:
        return null;
    }
  }
}
