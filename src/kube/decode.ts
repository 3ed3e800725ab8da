/**
 * Decodes one etcd value of kube-apiserver's storage into the JSON the apiserver serves for it: the
 * protobuf envelope (`k8s\0` + runtime.Unknown + typed body), JSON (custom resources, CRDs, APIServices,
 * JSON-storage clusters) and CBOR (`d9 d9 f7`, custom resources with CBORServingAndStorage). Objects keep
 * their stored apiVersion and get no defaulting, except CRDs, which are stored as v1beta1 and printed as
 * v1. `metadata.resourceVersion` is the record's mod_revision.
 *
 * Key order is the apiserver's (checked against kube-apiserver by test/integration/kube): struct fields in Go
 * order; map keys sorted as Go sorts them, by their UTF-8 bytes ("10" < "2" < "__proto__" < "b", U+E000 before
 * U+1F600); custom resources (map[string]interface{} in the apiserver) sorted so at every level, whatever the
 * stored order; raw JSON (RawExtension, FieldsV1, apiextensions JSON) in its written order. Objects whose keys
 * JavaScript would reorder (integer-like keys) carry their order (util/json.ts orderedObject) and print in it
 * with stringifyJson; `__proto__` is an ordinary key.
 */
import { CorruptInputError } from '../util/errors.js';
import { CRD_V1, CRD_V1_TYPE, CRD_V1BETA1, crdV1beta1ToV1 } from './crd.js';
import { parseCbor, parseLosslessJson, sortedMaps } from './json-value.js';
import { goStringCompare, orderedObject } from '../util/json.js';
import { nextRecord, WIRE_VARINT, type RawRecord } from './protowire.js';
import { canonicalQuantity } from './quantity.js';
import { JsonRenderer } from './render-json.js';
import {
  ProtoRenderer,
  type JsonObject,
  type JsonValue,
  type RenderContext,
  type UnknownField,
} from './render-proto.js';
import { structPlan } from './plan.js';
import { ProtoTextRenderer } from './render-text.js';
import { asBuffer, utf8Text } from './text.js';
import { kubeSchema, parseTypeExpr, type KindDef, type KubeSchema, type TypeExpr } from './schema.js';

export type StorageEncoding = 'protobuf' | 'json' | 'cbor' | 'encrypted' | 'other';

const PROTO_MAGIC = [0x6b, 0x38, 0x73, 0x00];
const ENC_PREFIX = Buffer.from('k8s:enc:');

/** The storage encoding of a value, from its first bytes. */
export function storageEncoding(value: Uint8Array): StorageEncoding {
  if (
    value.length >= 4 &&
    value[0] === PROTO_MAGIC[0] &&
    value[1] === PROTO_MAGIC[1] &&
    value[2] === PROTO_MAGIC[2] &&
    value[3] === PROTO_MAGIC[3]
  )
    return 'protobuf';
  if (value.length >= 8 && ENC_PREFIX.equals(value.subarray(0, 8))) return 'encrypted';
  if (value.length >= 3 && value[0] === 0xd9 && value[1] === 0xd9 && value[2] === 0xf7) return 'cbor';
  let i = 0;
  while (
    i < value.length &&
    (value[i] === 0x20 || value[i] === 0x0a || value[i] === 0x0d || value[i] === 0x09)
  )
    i++;
  if (value[i] === 0x7b) return 'json';
  return 'other';
}

/** A value that is not a decodable API object (encrypted, or not an object at all). */
export class NotAnObjectError extends CorruptInputError {}

export interface DecodeOptions {
  /** The etcd key, for messages. */
  key: string;
  /** Sets metadata.resourceVersion. */
  modRevision?: bigint;
  schema?: KubeSchema;
  /** Print stored v1beta1 CRDs as v1 (default true). */
  convertCrd?: boolean;
}

export interface DecodedObject {
  encoding: 'protobuf' | 'json' | 'cbor';
  apiVersion: string;
  kind: string;
  /** The apiVersion as stored (differs from apiVersion for converted CRDs). */
  storedApiVersion: string;
  object: JsonObject;
  /** False when the schema has no type for the stored apiVersion/kind: only metadata was decoded. */
  typeKnown: boolean;
  /** Fields the schema does not know, kept in `unknownFields` rather than dropped. */
  unknownFields: UnknownField[];
}

export interface TypeMeta {
  apiVersion: string;
  kind: string;
}

const EMPTY = new Uint8Array(0);

interface Envelope {
  typeMeta: TypeMeta;
  /** The typed body: value[rawStart, rawEnd). */
  rawStart: number;
  rawEnd: number;
  /** The cache entry of the TypeMeta, when the envelope has exactly one. */
  entry: TypeMetaEntry | undefined;
}

/** A decoded TypeMeta message (absent fields undefined) and, per schema, its registered kind. */
interface TypeMetaEntry {
  bytes: Uint8Array;
  apiVersion: string | undefined;
  kind: string | undefined;
  schema: KubeSchema | undefined;
  kindDef: KindDef | undefined;
}

/** TypeMeta messages seen recently, by a hash of their bytes: objects of a few dozen kinds repeat them. */
const recentTypeMeta = new Map<number, TypeMetaEntry>();

function typeMetaAt(value: Buffer, start: number, end: number, where: string): TypeMetaEntry {
  let h = end - start;
  for (let i = start; i < end; i++) h = (Math.imul(h, 31) + value[i]!) | 0;
  const hit = recentTypeMeta.get(h);
  if (hit && hit.bytes.length === end - start) {
    let i = 0;
    while (start + i < end && hit.bytes[i] === value[start + i]) i++;
    if (start + i === end) return hit;
  }
  const t: RawRecord = { num: 0, wire: 0, pos: 0, len: 0 };
  let apiVersion: string | undefined;
  let kind: string | undefined;
  for (let p = start; p < end;) {
    p = nextRecord(value, p, end, where, t);
    if (t.wire === WIRE_VARINT) continue;
    if (t.num === 1) apiVersion = utf8Text(value, t.pos, t.pos + t.len);
    if (t.num === 2) kind = utf8Text(value, t.pos, t.pos + t.len);
  }
  const entry: TypeMetaEntry = {
    bytes: Uint8Array.prototype.slice.call(value, start, end),
    apiVersion,
    kind,
    schema: undefined,
    kindDef: undefined,
  };
  if (recentTypeMeta.size >= 1024) recentTypeMeta.clear();
  recentTypeMeta.set(h, entry);
  return entry;
}

/** Reads the `k8s\0` + runtime.Unknown envelope: TypeMeta (field 1), raw (2), contentEncoding (3). */
function readEnvelope(value: Buffer, where: string): Envelope {
  const r: RawRecord = { num: 0, wire: 0, pos: 0, len: 0 };
  let apiVersion = '';
  let kind = '';
  let rawStart = 0;
  let rawEnd = 0;
  let contentEncoding = '';
  let entry: TypeMetaEntry | undefined;
  let typeMetas = 0;
  for (let pos = 4; pos < value.length;) {
    pos = nextRecord(value, pos, value.length, where, r);
    if (r.wire === WIRE_VARINT) continue;
    if (r.num === 1) {
      entry = typeMetaAt(value, r.pos, r.pos + r.len, where);
      typeMetas++;
      if (entry.apiVersion !== undefined) apiVersion = entry.apiVersion;
      if (entry.kind !== undefined) kind = entry.kind;
    } else if (r.num === 2) {
      rawStart = r.pos;
      rawEnd = r.pos + r.len;
    } else if (r.num === 3) contentEncoding = utf8Text(value, r.pos, r.pos + r.len);
  }
  if (contentEncoding) {
    throw new NotAnObjectError(
      where,
      `protobuf envelope with content encoding '${contentEncoding}' is not supported`,
    );
  }
  if (!kind) throw new NotAnObjectError(where, 'protobuf envelope without a kind');
  return { typeMeta: { apiVersion, kind }, rawStart, rawEnd, entry: typeMetas === 1 ? entry : undefined };
}

/** Splits the protobuf envelope into its TypeMeta and raw body. */
export function unwrapProtobuf(value: Uint8Array, where: string): { typeMeta: TypeMeta; raw: Uint8Array } {
  const e = readEnvelope(asBuffer(value), where);
  return { typeMeta: e.typeMeta, raw: value.subarray(e.rawStart, e.rawEnd) };
}

/** apiVersion and kind without decoding the body (cheap; for listings). */
export function peekTypeMeta(value: Uint8Array, where: string): TypeMeta | undefined {
  const enc = storageEncoding(value);
  if (enc === 'protobuf') return unwrapProtobuf(value, where).typeMeta;
  if (enc === 'json' || enc === 'cbor') {
    const o =
      enc === 'json' ? parseLosslessJson(utf8Text(asBuffer(value), 0, value.length)) : parseCbor(value);
    if (o && typeof o === 'object' && !Array.isArray(o)) {
      return { apiVersion: String(o.apiVersion ?? ''), kind: String(o.kind ?? '') };
    }
  }
  return undefined;
}

const OBJECT_META = 'k8s.io/apimachinery/pkg/apis/meta/v1.ObjectMeta';

const metaRanks = new WeakMap<KubeSchema, Map<string, number>>();

/** ObjectMeta's JSON field order. */
function objectMetaRank(schema: KubeSchema): Map<string, number> {
  let r = metaRanks.get(schema);
  if (!r) {
    r = new Map((schema.type(OBJECT_META)?.fields ?? []).map((f, i) => [f.json ?? '', i]));
    metaRanks.set(schema, r);
  }
  return r;
}

/** Sets a metadata field at its ObjectMeta position (typed objects) or in sorted order (unstructured). */
export function setMetadataField(
  obj: JsonObject,
  field: string,
  value: JsonValue,
  schema: KubeSchema,
  typed: boolean,
): void {
  const meta = obj.metadata;
  if (!meta || typeof meta !== 'object' || Array.isArray(meta)) return;
  meta[field] = value;
  // A stable insertion sort: the keys are in order but for the one just set.
  const keys = Object.keys(meta);
  const rank = typed ? objectMetaRank(schema) : undefined;
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i]!;
    let j = i - 1;
    if (rank) {
      const x = rank.get(k) ?? 1e9;
      while (j >= 0 && (rank.get(keys[j]!) ?? 1e9) > x) {
        keys[j + 1] = keys[j]!;
        j--;
      }
    } else {
      while (j >= 0 && goStringCompare(keys[j]!, k) > 0) {
        keys[j + 1] = keys[j]!;
        j--;
      }
    }
    keys[j + 1] = k;
  }
  obj.metadata = orderedObject(
    keys,
    keys.map((k) => meta[k]!),
  );
}

function asObj(v: JsonValue | undefined): JsonObject | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

/**
 * What kube-apiserver adds on the way out that storage need not hold, for the stored version:
 * - StatefulSet volumeClaimTemplates get apiVersion v1 and kind PersistentVolumeClaim (k8s.io/kubernetes
 *   pkg/apis/apps/v1/conversion.go and its v1beta1/v1beta2 twins, "preserve < 1.17 behavior");
 * - the defaulters that run on every read and fill fields objects are often stored without
 *   (pkg/apis/core/v1/defaults.go, pkg/apis/batch/v1/defaults.go): PersistentVolume and
 *   PersistentVolumeClaim status.phase Pending, Namespace status.phase Active and its
 *   kubernetes.io/metadata.name label, Job and ReplicationController labels copied from the pod template.
 * No other defaulting is applied (objects are printed as stored). Returns true when the object changed.
 */
const FIXUP_KINDS = new Set([
  'StatefulSet',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'Namespace',
  'ReplicationController',
  'Job',
]);

function readTimeFixups(object: JsonObject, typeMeta: TypeMeta): boolean {
  const { apiVersion, kind } = typeMeta;
  if (!FIXUP_KINDS.has(kind)) return false;
  const spec = asObj(object.spec);
  const meta = asObj(object.metadata);
  let changed = false;
  if (
    kind === 'StatefulSet' &&
    apiVersion.startsWith('apps/') &&
    spec &&
    Array.isArray(spec.volumeClaimTemplates)
  ) {
    spec.volumeClaimTemplates = spec.volumeClaimTemplates.map((t) =>
      asObj(t) ? { kind: 'PersistentVolumeClaim', apiVersion: 'v1', ...asObj(t) } : t,
    );
  }
  const setPhase = (phase: string): void => {
    const status = asObj(object.status) ?? {};
    if (!status.phase) {
      status.phase = phase;
      object.status = status;
      changed = true;
    }
  };
  const labelsFromTemplate = (): void => {
    const tl = asObj(asObj(asObj(spec?.template)?.metadata)?.labels);
    if (meta && tl && Object.keys(asObj(meta.labels) ?? {}).length === 0) {
      meta.labels = { ...tl };
      changed = true;
    }
  };
  if (apiVersion === 'v1') {
    if (kind === 'PersistentVolumeClaim' || kind === 'PersistentVolume') setPhase('Pending');
    if (kind === 'Namespace') {
      setPhase('Active');
      if (meta && typeof meta.name === 'string' && meta.name) {
        const labels = asObj(meta.labels) ?? {};
        if (labels['kubernetes.io/metadata.name'] !== meta.name) {
          meta.labels = { ...labels, 'kubernetes.io/metadata.name': meta.name };
          changed = true;
        }
      }
    }
    if (kind === 'ReplicationController' && spec) {
      const tl = asObj(asObj(asObj(spec.template)?.metadata)?.labels);
      if (tl && Object.keys(asObj(spec.selector) ?? {}).length === 0) {
        spec.selector = { ...tl };
        changed = true;
      }
      labelsFromTemplate();
    }
  }
  if (apiVersion === 'batch/v1' && kind === 'Job') labelsFromTemplate();
  return changed;
}

/**
 * Rewrites every Quantity of a JSON-decoded typed object to `String(ParseQuantity(text))`, as kube-apiserver
 * does when it decodes a JSON-stored object into its Go type and encodes it again (a quantity stored as a
 * JSON number becomes a string too), and rounds core/v1 ResourceList values up to milli-units as
 * SetDefaults_ResourceList does on every decode. Protobuf-stored quantities need no such step: see quantity.ts.
 */
export function canonicalizeQuantities(
  schema: KubeSchema,
  expr: TypeExpr,
  v: JsonValue | undefined,
  depth = 0,
  resourceList = false,
): JsonValue | undefined {
  if (v === undefined || v === null || depth > 64) return v;
  switch (expr.t) {
    case 'scalar':
      return v;
    case 'ptr':
      return canonicalizeQuantities(schema, expr.elem, v, depth + 1, resourceList);
    case 'slice':
      if (Array.isArray(v))
        for (let i = 0; i < v.length; i++) v[i] = canonicalizeQuantities(schema, expr.elem, v[i], depth + 1)!;
      return v;
    case 'map': {
      const o = asObj(v);
      if (o)
        for (const k of Object.keys(o))
          o[k] = canonicalizeQuantities(schema, expr.elem, o[k], depth + 1, resourceList)!;
      return v;
    }
    case 'ref': {
      const t = schema.type(expr.name);
      if (!t) return v;
      if (t.special === 'Quantity') {
        if (typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint')
          return canonicalQuantity(String(v).trim(), { roundUpMilli: resourceList }) ?? v;
        return v;
      }
      if (t.special) return v;
      const o = asObj(v);
      if (!o) return v;
      // Every map of quantities in core/v1 is a v1.ResourceList (the schema flattens the named type).
      const core = expr.name.startsWith(CORE_V1);
      for (const f of t.fields) {
        const list = core && f.expr.t === 'map' && f.expr.elem.t === 'ref' && f.expr.elem.name === QUANTITY;
        if (f.inline) canonicalizeQuantities(schema, f.expr, o, depth + 1);
        else if (f.json && Object.prototype.hasOwnProperty.call(o, f.json))
          o[f.json] = canonicalizeQuantities(schema, f.expr, o[f.json], depth + 1, list)!;
      }
      return v;
    }
  }
}

const CORE_V1 = 'k8s.io/api/core/v1.';
const QUANTITY = 'k8s.io/apimachinery/pkg/api/resource.Quantity';

const quantityTypes = new WeakMap<KubeSchema, Map<string, boolean>>();

/** Whether a value of the struct type `name` can hold a Quantity anywhere (else canonicalizing is a no-op). */
function mayHoldQuantity(schema: KubeSchema, name: string): boolean {
  let memo = quantityTypes.get(schema);
  if (!memo) quantityTypes.set(schema, (memo = new Map()));
  const hit = memo.get(name);
  if (hit !== undefined) return hit;
  const seen = new Set<string>();
  const walk = (e: TypeExpr): boolean => {
    if (e.t === 'scalar') return false;
    if (e.t !== 'ref') return walk(e.elem);
    if (e.name === QUANTITY) return true;
    if (seen.has(e.name)) return false;
    seen.add(e.name);
    return (schema.type(e.name)?.fields ?? []).some((f) => walk(f.expr));
  };
  const result = walk({ t: 'ref', name });
  memo.set(name, result);
  return result;
}

/** The schema's kind of a TypeMeta (cached on its envelope entry). */
function kindOf(
  schema: KubeSchema,
  typeMeta: TypeMeta,
  entry: TypeMetaEntry | undefined,
): KindDef | undefined {
  if (entry && entry.schema === schema) return entry.kindDef;
  const kindDef = schema.kind(typeMeta.apiVersion, typeMeta.kind);
  if (entry) {
    entry.schema = schema;
    entry.kindDef = kindDef;
  }
  return kindDef;
}

export function decodeObject(value: Uint8Array, opts: DecodeOptions): DecodedObject {
  const schema = opts.schema ?? kubeSchema();
  const where = opts.key;
  const ctx: RenderContext = { schema, where, unknown: [] };
  const enc = storageEncoding(value);
  const resourceVersion = opts.modRevision?.toString();
  if (enc === 'protobuf') {
    const buf = asBuffer(value);
    const { typeMeta, rawStart, rawEnd, entry } = readEnvelope(buf, where);
    const kindDef = kindOf(schema, typeMeta, entry);
    const r = new ProtoRenderer(ctx);
    let object: JsonObject = { kind: typeMeta.kind, apiVersion: typeMeta.apiVersion };
    const known = kindDef && structPlan(schema, kindDef.type) ? kindDef : undefined;
    const typeKnown = known !== undefined;
    if (known) {
      r.message(known.type, buf, object, resourceVersion, rawStart, rawEnd);
    } else {
      // No schema for this type: ObjectMeta is always field 1, so the metadata can still be shown.
      const rec: RawRecord = { num: 0, wire: 0, pos: 0, len: 0 };
      let metaStart = -1;
      let metaEnd = -1;
      for (let pos = rawStart; pos < rawEnd;) {
        pos = nextRecord(buf, pos, rawEnd, where, rec);
        if (rec.num === 1 && metaStart < 0) {
          metaStart = rec.pos;
          metaEnd = rec.wire === WIRE_VARINT ? rec.pos : rec.pos + rec.len;
        }
      }
      object.metadata =
        metaStart < 0
          ? r.message(OBJECT_META, EMPTY, {}, resourceVersion, 0, 0, '.metadata')
          : r.message(OBJECT_META, buf, {}, resourceVersion, metaStart, metaEnd, '.metadata');
      ctx.unknown.push({
        path: '.',
        num: 0,
        wire: -1,
        value: `no schema for ${typeMeta.apiVersion} ${typeMeta.kind}`,
      });
    }
    if (known && readTimeFixups(object, typeMeta)) {
      // Re-render through the type so added fields take their Go positions and map keys stay sorted.
      object = {
        kind: typeMeta.kind,
        apiVersion: typeMeta.apiVersion,
        ...new JsonRenderer(ctx).struct(known.type, object, ''),
      };
    }
    if (resourceVersion !== undefined && !r.rvPlaced)
      setMetadataField(object, 'resourceVersion', resourceVersion, schema, true);
    return {
      encoding: 'protobuf',
      apiVersion: typeMeta.apiVersion,
      kind: typeMeta.kind,
      storedApiVersion: typeMeta.apiVersion,
      object,
      typeKnown,
      unknownFields: ctx.unknown,
    };
  }
  if (enc === 'json' || enc === 'cbor') {
    let parsed: JsonValue;
    try {
      // (A JSON value starts with '{' after whitespace, so it has no BOM for the decoders to differ on.)
      parsed =
        enc === 'json' ? parseLosslessJson(utf8Text(asBuffer(value), 0, value.length)) : parseCbor(value);
    } catch (e) {
      throw new NotAnObjectError(where, `malformed ${enc.toUpperCase()} value: ${(e as Error).message}`);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new NotAnObjectError(where, `${enc.toUpperCase()} value is not an object`);
    }
    let object = parsed;
    const storedApiVersion = String(object.apiVersion ?? '');
    const kind = String(object.kind ?? '');
    let typed = false;
    if (
      storedApiVersion === CRD_V1BETA1 &&
      kind === 'CustomResourceDefinition' &&
      opts.convertCrd !== false
    ) {
      object = new JsonRenderer(ctx).struct(CRD_V1_TYPE, crdV1beta1ToV1(object), '');
      typed = true;
    } else if (schema.kind(storedApiVersion, kind)) {
      // APIServices and JSON-storage built-ins: kube-apiserver decodes them into the Go type and encodes
      // that again, so they print through the type (field order, zero values of non-omitempty fields such
      // as `status: {}`), with quantities re-printed and the same read-time fixups as protobuf objects.
      typed = true;
      const typeName = schema.kind(storedApiVersion, kind)!.type;
      if (mayHoldQuantity(schema, typeName)) canonicalizeQuantities(schema, parseTypeExpr(typeName), object);
      readTimeFixups(object, { apiVersion: storedApiVersion, kind });
      object = new JsonRenderer(ctx).struct(typeName, object, '');
    } else {
      // Custom resources (and unknown types): kube-apiserver serves them from map[string]interface{}, every
      // level sorted as Go sorts map keys, whatever the stored order.
      object = sortedMaps(object) as JsonObject;
    }
    if (resourceVersion !== undefined)
      setMetadataField(object, 'resourceVersion', resourceVersion, schema, typed);
    return {
      encoding: enc,
      apiVersion: String(object.apiVersion ?? storedApiVersion),
      kind,
      storedApiVersion,
      object,
      typeKnown: typed,
      unknownFields: ctx.unknown,
    };
  }
  if (enc === 'encrypted') {
    const text = Buffer.from(value.subarray(0, Math.min(value.length, 64))).toString('latin1');
    const m = /^k8s:enc:([a-z0-9]+):(v[0-9]+):([^:]*):/.exec(text);
    throw new NotAnObjectError(
      where,
      `encrypted value (${m ? `provider ${m[1]} ${m[2]}, key ${m[3]}` : 'unknown provider'}); decrypt it first`,
    );
  }
  throw new NotAnObjectError(where, 'not a Kubernetes object (expected k8s\\0 protobuf, JSON or CBOR)');
}

/** What a printed object shows that kubectl hides by default (present.ts's `present`). */
export interface ShowOptions {
  /** Keep metadata.managedFields. */
  showManagedFields?: boolean;
  /** Print Secret values instead of redacting them. */
  showSecrets?: boolean;
}

/** One text renderer per schema, reused from value to value (rendering is synchronous). */
const textRenderers = new WeakMap<KubeSchema, ProtoTextRenderer>();

/**
 * The compact JSON text of a protobuf-stored object of a known type — exactly
 * `stringifyJson(present(decodeObject(value, opts).object, show), 0)`, with the same unknown-field
 * reports — printed without building the object (render-text.ts: ≈ 30% less time). Without `show`, the
 * object as decoded (managedFields and Secret values included). Undefined when only decodeObject can print
 * it: JSON and CBOR values, types the schema lacks, kinds with read-time fixups, Secrets to redact, the
 * rare shapes render-text leaves to the object path, and values it cannot read (decodeObject then says
 * what is wrong).
 */
export function decodeObjectText(
  value: Uint8Array,
  opts: DecodeOptions,
  show: ShowOptions = { showManagedFields: true, showSecrets: true },
): { json: string; unknownFields: UnknownField[] } | undefined {
  if (storageEncoding(value) !== 'protobuf') return undefined;
  const schema = opts.schema ?? kubeSchema();
  const where = opts.key;
  const buf = asBuffer(value);
  try {
    const { typeMeta, rawStart, rawEnd, entry } = readEnvelope(buf, where);
    const kindDef = kindOf(schema, typeMeta, entry);
    if (!kindDef || FIXUP_KINDS.has(typeMeta.kind)) return undefined;
    if (!show.showSecrets && typeMeta.kind === 'Secret') return undefined;
    const unknown: UnknownField[] = [];
    let r = textRenderers.get(schema);
    if (!r) textRenderers.set(schema, (r = new ProtoTextRenderer({ schema, where, unknown })));
    r.hideManagedFields = !show.showManagedFields;
    const json = r
      .retarget(where, unknown)
      .objectText(
        kindDef.type,
        typeMeta.kind,
        typeMeta.apiVersion,
        buf,
        opts.modRevision?.toString(),
        rawStart,
        rawEnd,
      );
    return { json, unknownFields: unknown };
  } catch {
    return undefined;
  }
}

export { CRD_V1 };
