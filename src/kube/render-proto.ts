/**
 * Protobuf object bodies → the JSON kube-apiserver serves for them, driven by the generated schema: Go's
 * encoding/json rules (struct field order, omitempty/omitzero, inline, nil slices/maps/pointers as null,
 * []byte as base64, sorted map keys) and the hand-written forms of the apimachinery types (Time, MicroTime,
 * Duration, Quantity, IntOrString, RawExtension, FieldsV1, apiextensions JSON and JSONSchemaPropsOr*).
 */
import { parseLosslessJson } from './json-value.js';
import { formatGoDuration, formatRfc3339, formatRfc3339Micro } from './go-format.js';
import { parseMessage, unpackVarints, WIRE_BYTES, type WireRecord } from './protowire.js';
import type { KubeSchema, ResolvedType, TypeExpr } from './schema.js';

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

const utf8 = new TextDecoder('utf-8');

function toInt64(v: bigint): number | bigint {
  const s = BigInt.asIntN(64, v);
  return s >= BigInt(Number.MIN_SAFE_INTEGER) && s <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(s) : s;
}

function toUint64(v: bigint): number | bigint {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function groupByNum(records: WireRecord[]): Map<number, WireRecord[]> {
  const m = new Map<number, WireRecord[]>();
  for (const r of records) {
    const list = m.get(r.num);
    if (list) list.push(r);
    else m.set(r.num, [r]);
  }
  return m;
}

function scalarFrom(name: string, rec: WireRecord): JsonValue {
  const v = rec.varint;
  const b = rec.bytes;
  switch (name) {
    case 'string':
      return utf8.decode(b ?? new Uint8Array());
    case 'bytes':
      return Buffer.from(b ?? new Uint8Array()).toString('base64');
    case 'bool':
      return (v ?? 0n) !== 0n;
    case 'int32':
      return Number(BigInt.asIntN(32, v ?? 0n));
    case 'uint32':
      return Number(BigInt.asUintN(32, v ?? 0n));
    case 'int64':
      return toInt64(v ?? 0n);
    case 'uint64':
      return toUint64(v ?? 0n);
    case 'float64':
      return b && b.length === 8 ? Buffer.from(b).readDoubleLE(0) : 0;
    case 'float32':
      return b && b.length === 4 ? Buffer.from(b).readFloatLE(0) : 0;
    default:
      return null;
  }
}

const VARINT_SCALARS = new Set(['bool', 'int32', 'uint32', 'int64', 'uint64']);

function zeroScalar(name: string): JsonValue {
  switch (name) {
    case 'string':
      return '';
    case 'bool':
      return false;
    case 'bytes':
    case 'any':
      return null;
    default:
      return 0;
  }
}

export class ProtoRenderer {
  constructor(private readonly ctx: RenderContext) {}

  private type(name: string): ResolvedType | undefined {
    return this.ctx.schema.type(name);
  }

  /** The Go zero value of a type, as JSON. */
  zero(expr: TypeExpr, path: string): JsonValue {
    switch (expr.t) {
      case 'scalar':
        return zeroScalar(expr.name);
      case 'ptr':
      case 'slice':
      case 'map':
        return null;
      case 'ref':
        return this.renderRef(expr.name, undefined, path);
    }
  }

  /** Renders one value of `expr` from one wire record. */
  one(expr: TypeExpr, rec: WireRecord, path: string): JsonValue {
    switch (expr.t) {
      case 'scalar':
        return scalarFrom(expr.name, rec);
      case 'ptr':
        return this.one(expr.elem, rec, path);
      case 'ref':
        return this.renderRef(expr.name, rec.bytes ?? new Uint8Array(), path);
      case 'slice':
        // A named slice carried as a wrapper message (map values such as ExtraValue).
        return this.wrappedSlice(expr, rec.bytes ?? new Uint8Array(), path);
      case 'map':
        return null;
    }
  }

  private wrappedSlice(expr: TypeExpr & { t: 'slice' }, bytes: Uint8Array, path: string): JsonValue {
    const recs = parseMessage(bytes, this.ctx.where).filter((r) => r.num === 1);
    return this.repeated(expr.elem, recs, path);
  }

  private repeated(elem: TypeExpr, recs: WireRecord[], path: string): JsonValue {
    const items: JsonValue[] = [];
    for (const r of recs) {
      if (elem.t === 'scalar' && VARINT_SCALARS.has(elem.name) && r.wire === WIRE_BYTES) {
        for (const v of unpackVarints(r.bytes!, this.ctx.where))
          items.push(scalarFrom(elem.name, { ...r, varint: v }));
      } else {
        items.push(this.one(elem, r, `${path}[${items.length}]`));
      }
    }
    return items.length === 0 ? null : items;
  }

  /** Renders a field from all its records (none when absent). */
  field(expr: TypeExpr, recs: WireRecord[] | undefined, path: string): JsonValue {
    if (!recs || recs.length === 0) return this.zero(expr, path);
    switch (expr.t) {
      case 'slice':
        return this.repeated(expr.elem, recs, path);
      case 'map': {
        const entries: [string, JsonValue][] = [];
        for (const r of recs) {
          const m = groupByNum(parseMessage(r.bytes ?? new Uint8Array(), this.ctx.where));
          const k = m.get(1)?.at(-1);
          const key = k
            ? scalarFrom(expr.key.t === 'scalar' ? expr.key.name : 'string', k)
            : zeroScalar('string');
          const v = m.get(2)?.at(-1);
          const keyText = String(key);
          entries.push([
            keyText,
            v ? this.one(expr.elem, v, `${path}.${keyText}`) : this.zero(expr.elem, path),
          ]);
        }
        entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
        const obj: JsonObject = {};
        for (const [k, v] of entries) obj[k] = v;
        return obj;
      }
      default:
        return this.one(expr, recs[recs.length - 1]!, path);
    }
  }

  /** Renders a named type; `bytes` undefined means the Go zero value. */
  renderRef(
    name: string,
    bytes: Uint8Array | undefined,
    path: string,
    overrides?: Map<string, JsonValue>,
  ): JsonValue {
    const t = this.type(name);
    if (!t) {
      if (bytes && bytes.length > 0) {
        this.ctx.unknown.push({ path, num: 0, wire: WIRE_BYTES, value: Buffer.from(bytes).toString('hex') });
      }
      return null;
    }
    if (t.special) return this.special(t, bytes, path);
    return this.struct(t, bytes, path, overrides);
  }

  struct(
    t: ResolvedType,
    bytes: Uint8Array | undefined,
    path: string,
    overrides?: Map<string, JsonValue>,
  ): JsonObject {
    const recs =
      bytes && bytes.length > 0
        ? groupByNum(parseMessage(bytes, this.ctx.where))
        : new Map<number, WireRecord[]>();
    const out: JsonObject = {};
    for (const f of t.fields) {
      const present = f.num ? recs.get(f.num) : undefined;
      if (!present && !f.current) continue;
      if (!f.inline && !f.json) continue;
      const fpath = f.json ? `${path}.${f.json}` : path;
      let value: JsonValue;
      const over = f.json ? overrides?.get(f.json) : undefined;
      if (over !== undefined) value = over;
      else if (f.json === 'metadata' && path === '' && overrides) value = this.field(f.expr, present, fpath);
      else value = this.field(f.expr, present, fpath);
      if (f.inline) {
        if (value && typeof value === 'object' && !Array.isArray(value)) Object.assign(out, value);
        continue;
      }
      if (f.omitempty && isEmpty(f.expr, value)) continue;
      if (f.omitzero && this.isZero(f.expr, value, path)) continue;
      out[f.json!] = value;
    }
    for (const [num, list] of recs) {
      if (t.byNum.has(num)) continue;
      for (const r of list) {
        this.ctx.unknown.push({
          path: path || '.',
          num,
          wire: r.wire,
          value: r.varint !== undefined ? r.varint.toString() : Buffer.from(r.bytes!).toString('hex'),
        });
      }
    }
    return out;
  }

  /** Go's omitzero test (IsZero() or the zero value). */
  isZero(expr: TypeExpr, value: JsonValue, path: string): boolean {
    if (expr.t !== 'ref') return isEmpty(expr, value) && !(Array.isArray(value) && value.length === 0);
    return JSON.stringify(value, bigintSafe) === JSON.stringify(this.zero(expr, path), bigintSafe);
  }

  private special(t: ResolvedType, bytes: Uint8Array | undefined, path: string): JsonValue {
    const recs =
      bytes && bytes.length > 0
        ? groupByNum(parseMessage(bytes, this.ctx.where))
        : new Map<number, WireRecord[]>();
    const last = (n: number): WireRecord | undefined => recs.get(n)?.at(-1);
    switch (t.special) {
      case 'Time': {
        if (!bytes || bytes.length === 0) return null;
        return formatRfc3339(BigInt.asIntN(64, last(1)?.varint ?? 0n));
      }
      case 'MicroTime': {
        if (!bytes || bytes.length === 0) return null;
        const nanos = Number(BigInt.asIntN(32, last(2)?.varint ?? 0n));
        return formatRfc3339Micro(BigInt.asIntN(64, last(1)?.varint ?? 0n), nanos);
      }
      case 'Duration':
        return formatGoDuration(BigInt.asIntN(64, last(1)?.varint ?? 0n));
      case 'Quantity': {
        const s = last(1);
        return s ? utf8.decode(s.bytes) : '0';
      }
      case 'IntOrString': {
        const type = Number(last(1)?.varint ?? 0n);
        if (type === 1) return last(3) ? utf8.decode(last(3)!.bytes) : '';
        return Number(BigInt.asIntN(32, last(2)?.varint ?? 0n));
      }
      case 'RawExtension':
      case 'FieldsV1':
      case 'RawJSON': {
        const raw = last(1)?.bytes;
        if (!raw || (t.special === 'RawJSON' && raw.length === 0)) return null;
        if (raw.length === 0) return null;
        try {
          return parseLosslessJson(utf8.decode(raw));
        } catch {
          this.ctx.unknown.push({ path, num: 1, wire: WIRE_BYTES, value: Buffer.from(raw).toString('hex') });
          return null;
        }
      }
      case 'JSONSchemaPropsOrBool': {
        const schema = last(2);
        if (schema) return this.renderRef(schemaPropsName(t.name), schema.bytes, path);
        return (last(1)?.varint ?? 0n) !== 0n;
      }
      case 'JSONSchemaPropsOrArray': {
        const arr = recs.get(2);
        if (arr && arr.length > 0)
          return arr.map((r, i) => this.renderRef(schemaPropsName(t.name), r.bytes, `${path}[${i}]`));
        const schema = last(1);
        return schema ? this.renderRef(schemaPropsName(t.name), schema.bytes, path) : null;
      }
      case 'JSONSchemaPropsOrStringArray': {
        const arr = recs.get(2);
        if (arr && arr.length > 0) return arr.map((r) => utf8.decode(r.bytes));
        const schema = last(1);
        return schema ? this.renderRef(schemaPropsName(t.name), schema.bytes, path) : null;
      }
      default:
        return null;
    }
  }
}

function schemaPropsName(special: string): string {
  return special.slice(0, special.lastIndexOf('.') + 1) + 'JSONSchemaProps';
}

function bigintSafe(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

/** Go's omitempty test: false, 0, "", nil pointer/slice/map and empty slice/map; structs never. */
export function isEmpty(expr: TypeExpr, value: JsonValue): boolean {
  switch (expr.t) {
    case 'scalar':
      return value === null || value === false || value === 0 || value === 0n || value === '';
    case 'ptr':
      return value === null;
    case 'slice':
      return value === null || (Array.isArray(value) && value.length === 0);
    case 'map':
      return value === null || (typeof value === 'object' && Object.keys(value).length === 0);
    case 'ref':
      return false;
  }
}
