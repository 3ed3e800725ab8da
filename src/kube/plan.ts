/**
 * Go types of the schema compiled into plans, once per schema: for each struct its JSON fields in struct
 * order, a field-number → slot table, one codec per field type (how one value is read from one wire record)
 * and the Go zero values; plus Go's omitempty kinds. Shared by the renderers: objects from protobuf
 * (render-proto.ts), objects re-rendered from JSON (render-json.ts) and text from protobuf (render-text.ts).
 */
import type { JsonObject, JsonValue } from './render-proto.js';
import type { KubeSchema, TypeExpr } from './schema.js';

export const OP_STRING = 0;
export const OP_BYTES = 1;
export const OP_BOOL = 2;
export const OP_INT32 = 3;
export const OP_UINT32 = 4;
export const OP_INT64 = 5;
export const OP_UINT64 = 6;
export const OP_FLOAT64 = 7;
export const OP_FLOAT32 = 8;
/** `any`, unknown scalar names and maps reached without a field (Go prints null). */
export const OP_NULL = 9;
export const OP_STRUCT = 10;
export const OP_SPECIAL = 11;
/** A type name the schema does not have. */
export const OP_MISSING = 12;
/** A named slice carried as a wrapper message whose field 1 holds the items (map values such as ExtraValue). */
export const OP_WRAPPED = 13;

const SCALAR_OPS: Record<string, number> = {
  string: OP_STRING,
  bytes: OP_BYTES,
  bool: OP_BOOL,
  int32: OP_INT32,
  uint32: OP_UINT32,
  int64: OP_INT64,
  uint64: OP_UINT64,
  float64: OP_FLOAT64,
  float32: OP_FLOAT32,
};

export const SP_TIME = 0;
export const SP_MICROTIME = 1;
export const SP_DURATION = 2;
export const SP_QUANTITY = 3;
export const SP_INTORSTRING = 4;
export const SP_RAWJSON = 5;
export const SP_PROPS_OR_BOOL = 6;
export const SP_PROPS_OR_ARRAY = 7;
export const SP_PROPS_OR_STRINGS = 8;
export const SP_OTHER = 9;

const SPECIALS: Record<string, number> = {
  Time: SP_TIME,
  MicroTime: SP_MICROTIME,
  Duration: SP_DURATION,
  Quantity: SP_QUANTITY,
  IntOrString: SP_INTORSTRING,
  RawExtension: SP_RAWJSON,
  FieldsV1: SP_RAWJSON,
  RawJSON: SP_RAWJSON,
  JSONSchemaPropsOrBool: SP_PROPS_OR_BOOL,
  JSONSchemaPropsOrArray: SP_PROPS_OR_ARRAY,
  JSONSchemaPropsOrStringArray: SP_PROPS_OR_STRINGS,
};

/** How one value of a type is read from one wire record. */
export interface Codec {
  op: number;
  /** Type name (OP_STRUCT, OP_SPECIAL, OP_MISSING). */
  name: string;
  /** A varint scalar: a length-delimited record of a repeated field holds packed values. */
  packable: boolean;
  special: number;
  /** OP_STRUCT: resolved on first use (types refer to each other). */
  plan: StructPlan | undefined;
  /** OP_WRAPPED items; JSONSchemaProps for the JSONSchemaPropsOr* specials. */
  elem: Codec | undefined;
  /** Whether decoding can report unknown fields (then the JSON path is tracked). */
  mayReport: boolean;
  /** The value decoded from no bytes (Go's zero value), computed on first use. */
  zero: JsonValue | undefined;
  zeroJson: string | undefined;
}

export const FIELD_SINGLE = 0;
export const FIELD_REPEATED = 1;
export const FIELD_MAP = 2;

export const ABSENT_SKIP = 0;
export const ABSENT_CONST = 1;
export const ABSENT_ZERO = 2;

export const EMPTY_SCALAR = 0;
export const EMPTY_PTR = 1;
export const EMPTY_SLICE = 2;
export const EMPTY_MAP = 3;
export const EMPTY_NEVER = 4;

/** What a field's Go zero value is: a constant (scalars, nil), or a codec's zero struct (cloned). */
export interface ZeroSpec {
  value: JsonValue;
  codec: Codec | undefined;
}

export interface FieldPlan {
  /** JSON name; '' for inline fields. */
  json: string;
  /** `.json`, the path segment. */
  seg: string;
  inline: boolean;
  omitempty: boolean;
  omitzero: boolean;
  /** Present in the pinned release (fields only older releases have print only when present). */
  current: boolean;
  expr: TypeExpr;
  /** Index of the record slot (one per field number) in the struct's scan. */
  slot: number;
  mode: number;
  /** The codec of one record: the field's type (pointers unwrapped), or the slice's / map's element. */
  codec: Codec;
  keyOp: number;
  /** The map element's zero value (a map entry without a value). */
  elemZero: ZeroSpec | undefined;
  empty: number;
  absent: number;
  absentZero: ZeroSpec;
  /** ObjectMeta under `metadata`: where metadata.resourceVersion is set from the record's revision. */
  isMetadata: boolean;
  /** `,"json":` as UTF-8, made on first use by render-text.ts. */
  keyJson: Buffer | undefined;
  /** The absent value's JSON text (null: omitted), made on first use by render-text.ts. */
  absentJson: Buffer | null | undefined;
}

export interface StructPlan {
  name: string;
  fields: FieldPlan[];
  /** field number → slot; -1 a field the JSON never shows (json:"-"), -2 unknown. */
  byNum: Int16Array;
  nslots: number;
  /** Index in `fields` of ObjectMeta's resourceVersion, else -1. */
  rvIndex: number;
  /** Index in `fields` of ObjectMeta's managedFields, else -1. */
  mfIndex: number;
  /** JSON names of the fields (inline types expanded) and whether one is used twice; for render-json. */
  names: Set<string> | undefined;
  namesUnique: boolean;
  /** An inline field whose type is not in the schema takes every key (render-json). */
  takesAll: boolean;
  /** Whether a Quantity can occur anywhere below (computed on demand by decode.ts). */
  hasQuantity: boolean | undefined;
}

export const OBJECT_META = 'k8s.io/apimachinery/pkg/apis/meta/v1.ObjectMeta';

interface Compiled {
  plans: Map<string, StructPlan | null>;
  codecs: Map<string, Codec>;
}

const compiledBySchema = new WeakMap<KubeSchema, Compiled>();

function compiled(schema: KubeSchema): Compiled {
  let c = compiledBySchema.get(schema);
  if (!c) {
    c = { plans: new Map(), codecs: new Map() };
    compiledBySchema.set(schema, c);
  }
  return c;
}

function newCodec(op: number, name: string): Codec {
  return {
    op,
    name,
    packable: false,
    special: SP_OTHER,
    plan: undefined,
    elem: undefined,
    mayReport: false,
    zero: undefined,
    zeroJson: undefined,
  };
}

function exprKey(e: TypeExpr): string {
  switch (e.t) {
    case 'scalar':
      return e.name;
    case 'ptr':
      return `*${exprKey(e.elem)}`;
    case 'slice':
      return `${e.wrapped ? '~' : ''}[]${exprKey(e.elem)}`;
    case 'map':
      return `map[${exprKey(e.key)}]${exprKey(e.elem)}`;
    case 'ref':
      return e.name;
  }
}

/** The codec for one value of `expr` from one record (pointers read as their element). */
export function codecFor(schema: KubeSchema, expr: TypeExpr): Codec {
  const c = compiled(schema);
  const key = exprKey(expr);
  let codec = c.codecs.get(key);
  if (codec) return codec;
  switch (expr.t) {
    case 'scalar': {
      const op = SCALAR_OPS[expr.name] ?? OP_NULL;
      codec = newCodec(op, expr.name);
      codec.packable =
        op === OP_BOOL || op === OP_INT32 || op === OP_UINT32 || op === OP_INT64 || op === OP_UINT64;
      break;
    }
    case 'ptr':
      // Read as the element; only a repeated field of scalars themselves reads packed records.
      codec = { ...codecFor(schema, expr.elem), packable: false, zero: undefined, zeroJson: undefined };
      break;
    case 'map':
      codec = newCodec(OP_NULL, 'map');
      break;
    case 'slice':
      codec = newCodec(OP_WRAPPED, key);
      codec.elem = codecFor(schema, expr.elem);
      codec.mayReport = codec.elem.mayReport;
      break;
    case 'ref': {
      const t = schema.type(expr.name);
      if (!t) {
        codec = newCodec(OP_MISSING, expr.name);
        codec.mayReport = true;
      } else if (t.special) {
        codec = newCodec(OP_SPECIAL, expr.name);
        codec.special = SPECIALS[t.special] ?? SP_OTHER;
        if (codec.special >= SP_PROPS_OR_BOOL && codec.special <= SP_PROPS_OR_STRINGS) {
          // The JSONSchemaProps of the same package.
          const pkg = expr.name.slice(0, expr.name.lastIndexOf('.') + 1);
          codec.elem = codecFor(schema, { t: 'ref', name: `${pkg}JSONSchemaProps` });
        }
        codec.mayReport = codec.special >= SP_RAWJSON && codec.special <= SP_PROPS_OR_STRINGS;
      } else {
        codec = newCodec(OP_STRUCT, expr.name);
        codec.mayReport = true;
      }
      break;
    }
  }
  c.codecs.set(key, codec);
  return codec;
}

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

/** The zero value of a type expression (Go's zero: "", 0, false, nil, or the zero struct). */
export function zeroSpec(schema: KubeSchema, expr: TypeExpr): ZeroSpec {
  switch (expr.t) {
    case 'scalar':
      return { value: zeroScalar(expr.name), codec: undefined };
    case 'ptr':
    case 'slice':
    case 'map':
      return { value: null, codec: undefined };
    case 'ref':
      return { value: null, codec: codecFor(schema, expr) };
  }
}

function emptyKind(expr: TypeExpr): number {
  switch (expr.t) {
    case 'scalar':
      return EMPTY_SCALAR;
    case 'ptr':
      return EMPTY_PTR;
    case 'slice':
      return EMPTY_SLICE;
    case 'map':
      return EMPTY_MAP;
    case 'ref':
      return EMPTY_NEVER;
  }
}

/** The compiled plan of a struct type, or undefined when the schema lacks it or it is a special type. */
export function structPlan(schema: KubeSchema, name: string): StructPlan | undefined {
  const c = compiled(schema);
  const hit = c.plans.get(name);
  if (hit !== undefined) return hit ?? undefined;
  const t = schema.type(name);
  if (!t || t.special) {
    c.plans.set(name, null);
    return undefined;
  }
  let maxNum = 0;
  for (const f of t.fields) if (f.num && f.num > maxNum) maxNum = f.num;
  const byNum = new Int16Array(maxNum + 1).fill(-2);
  let nslots = 0;
  for (const f of t.fields) if (f.num && byNum[f.num] === -2) byNum[f.num] = -1;
  const fields: FieldPlan[] = [];
  for (const f of t.fields) {
    if (!f.inline && !f.json) continue;
    let slot = -1;
    if (f.num) {
      if (byNum[f.num]! < 0) byNum[f.num] = nslots++;
      slot = byNum[f.num]!;
    }
    const e = f.expr;
    const mode = e.t === 'slice' ? FIELD_REPEATED : e.t === 'map' ? FIELD_MAP : FIELD_SINGLE;
    const codec = e.t === 'slice' || e.t === 'map' ? codecFor(schema, e.elem) : codecFor(schema, e);
    const absentZero = zeroSpec(schema, e);
    let absent: number;
    if (!f.current || f.omitzero || (f.omitempty && e.t !== 'ref')) absent = ABSENT_SKIP;
    else absent = absentZero.codec ? ABSENT_ZERO : ABSENT_CONST;
    const json = f.json ?? '';
    fields.push({
      json,
      seg: f.inline ? '' : `.${json}`,
      inline: f.inline === true,
      omitempty: f.omitempty === true,
      omitzero: f.omitzero === true,
      current: f.current,
      expr: e,
      slot,
      mode,
      codec,
      keyOp: e.t === 'map' && e.key.t === 'scalar' ? (SCALAR_OPS[e.key.name] ?? OP_NULL) : OP_STRING,
      elemZero: e.t === 'map' ? zeroSpec(schema, e.elem) : undefined,
      empty: emptyKind(e),
      absent,
      absentZero,
      isMetadata: json === 'metadata' && codec.op === OP_STRUCT && codec.name === OBJECT_META,
      keyJson: undefined,
      absentJson: undefined,
    });
  }
  const plan: StructPlan = {
    name,
    fields,
    byNum,
    nslots,
    rvIndex: name === OBJECT_META ? fields.findIndex((f) => f.json === 'resourceVersion') : -1,
    mfIndex: name === OBJECT_META ? fields.findIndex((f) => f.json === 'managedFields') : -1,
    names: undefined,
    namesUnique: true,
    takesAll: false,
    hasQuantity: undefined,
  };
  c.plans.set(name, plan);
  return plan;
}

/**
 * Every JSON name a struct's fields use (inline types expanded); sets the plan's namesUnique (no name twice)
 * and takesAll (an inline type the schema lacks takes every key). Cached on the plan.
 */
export function planNames(schema: KubeSchema, plan: StructPlan): Set<string> {
  if (plan.names) return plan.names;
  const set = new Set<string>();
  let unique = true;
  let takesAll = false;
  const add = (p: StructPlan, depth: number): void => {
    for (const f of p.fields) {
      if (!f.inline) {
        if (set.has(f.json)) unique = false;
        set.add(f.json);
        continue;
      }
      const inner = f.expr.t === 'ptr' ? f.expr.elem : f.expr;
      if (inner.t !== 'ref' || depth > 16) continue;
      const ip = structPlan(schema, inner.name);
      if (ip) add(ip, depth + 1);
      else if (!schema.type(inner.name)) takesAll = true;
    }
  };
  add(plan, 0);
  plan.namesUnique = unique;
  plan.takesAll = takesAll;
  plan.names = set;
  return set;
}

export function planOf(schema: KubeSchema, codec: Codec): StructPlan {
  return (codec.plan ??= structPlan(schema, codec.name)!);
}

/** A deep copy of a JSON value (zero templates are shared). */
export function cloneJson(v: JsonValue): JsonValue {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(cloneJson);
  const out: JsonObject = {};
  for (const k in v) out[k] = cloneJson(v[k]!);
  return out;
}

export function bigintSafe(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

export function isEmptyKind(kind: number, value: JsonValue): boolean {
  switch (kind) {
    case EMPTY_SCALAR:
      return value === null || value === false || value === 0 || value === 0n || value === '';
    case EMPTY_PTR:
      return value === null;
    case EMPTY_SLICE:
      return value === null || (Array.isArray(value) && value.length === 0);
    case EMPTY_MAP:
      if (value === null) return true;
      if (typeof value !== 'object') return false;
      for (const _ in value) return false;
      return true;
    default:
      return false;
  }
}

/** Go's omitempty test: false, 0, "", nil pointer/slice/map and empty slice/map; structs never. */
export function isEmpty(expr: TypeExpr, value: JsonValue): boolean {
  return isEmptyKind(emptyKind(expr), value);
}
