/**
 * Kubernetes' Go types as the decoder needs them: loaded from schema.generated.ts (made by
 * tools/kube-schema/generate from k8s.io/api v0.24 … the pinned release). Type expressions are Go-like
 * strings: `string`, `int32`, `int64`, `bool`, `float64`, `bytes`, `*T`, `[]T`, `~[]T` (a named slice that
 * protobuf wraps in a message whose field 1 holds the items), `map[K]V`, or a fully qualified type name.
 */
import { SCHEMA_SOURCE } from './schema.generated.js';

export interface FieldDef {
  /** JSON name; absent for inline fields and json:"-". */
  json?: string;
  num?: number;
  wire?: string;
  rep?: boolean;
  omitempty?: boolean;
  omitzero?: boolean;
  inline?: boolean;
  type: string;
  /** Releases that have the field, e.g. `v0.24-v0.29`; absent when every release of its type has it. */
  rel?: string;
}

export interface TypeDef {
  special?: string;
  fields?: FieldDef[];
  rel?: string;
}

export interface KindDef {
  group: string;
  version: string;
  kind: string;
  type: string;
  rel?: string;
}

export interface SchemaDoc {
  generator: string;
  releases: string[];
  kinds: KindDef[];
  types: Record<string, TypeDef>;
}

export type TypeExpr =
  | { t: 'scalar'; name: string }
  | { t: 'ptr'; elem: TypeExpr }
  | { t: 'slice'; elem: TypeExpr; wrapped: boolean }
  | { t: 'map'; key: TypeExpr; elem: TypeExpr }
  | { t: 'ref'; name: string };

const SCALARS = new Set([
  'string',
  'bool',
  'int32',
  'int64',
  'uint32',
  'uint64',
  'float32',
  'float64',
  'bytes',
  'any',
]);

/** Parses a type expression string (see the module comment). */
export function parseTypeExpr(s: string): TypeExpr {
  if (s.startsWith('*')) return { t: 'ptr', elem: parseTypeExpr(s.slice(1)) };
  if (s.startsWith('~[]')) return { t: 'slice', elem: parseTypeExpr(s.slice(3)), wrapped: true };
  if (s.startsWith('[]')) return { t: 'slice', elem: parseTypeExpr(s.slice(2)), wrapped: false };
  if (s.startsWith('map[')) {
    let depth = 0;
    for (let i = 3; i < s.length; i++) {
      if (s[i] === '[') depth++;
      else if (s[i] === ']' && --depth === 0) {
        return { t: 'map', key: parseTypeExpr(s.slice(4, i)), elem: parseTypeExpr(s.slice(i + 1)) };
      }
    }
  }
  if (SCALARS.has(s)) return { t: 'scalar', name: s };
  return { t: 'ref', name: s };
}

/** A field with its parsed type and whether the current (pinned) release has it. */
export interface ResolvedField extends FieldDef {
  expr: TypeExpr;
  current: boolean;
}

export interface ResolvedType {
  name: string;
  special?: string;
  fields: ResolvedField[];
  byNum: Map<number, ResolvedField>;
}

function minorOf(release: string): number {
  return Number(release.split('.')[1]);
}

/** Whether `rel` (e.g. `v0.24-v0.29,v0.31-v0.34`) includes minor `m`. */
function relHas(rel: string | undefined, m: number): boolean {
  if (!rel) return true;
  return rel.split(',').some((range) => {
    const [a, b = a] = range.split('-');
    return minorOf(a!) <= m && m <= minorOf(b!);
  });
}

export class KubeSchema {
  private readonly resolved = new Map<string, ResolvedType | undefined>();
  /** apiVersion → kind → definition. */
  private readonly kindIndex = new Map<string, Map<string, KindDef>>();
  readonly currentMinor: number;

  constructor(readonly doc: SchemaDoc) {
    this.currentMinor = minorOf(doc.releases[doc.releases.length - 1]!);
    for (const k of doc.kinds) {
      const apiVersion = `${k.group ? `${k.group}/` : ''}${k.version}`;
      let kinds = this.kindIndex.get(apiVersion);
      if (!kinds) this.kindIndex.set(apiVersion, (kinds = new Map()));
      kinds.set(k.kind, k);
    }
  }

  get releases(): string[] {
    return this.doc.releases;
  }

  /** The registered kind for an apiVersion (`v1`, `apps/v1`) and kind, if any release has it. */
  kind(apiVersion: string, kind: string): KindDef | undefined {
    return this.kindIndex.get(apiVersion)?.get(kind);
  }

  allKinds(): KindDef[] {
    return this.doc.kinds;
  }

  type(name: string): ResolvedType | undefined {
    if (this.resolved.has(name)) return this.resolved.get(name);
    const def = this.doc.types[name];
    let r: ResolvedType | undefined;
    if (def) {
      const fields = (def.fields ?? []).map((f) => ({
        ...f,
        expr: parseTypeExpr(f.type),
        current: relHas(f.rel, this.currentMinor),
      }));
      r = { name, fields, byNum: new Map() };
      if (def.special) r.special = def.special;
      for (const f of fields) if (f.num) r.byNum.set(f.num, f);
    }
    this.resolved.set(name, r);
    return r;
  }
}

let loaded: KubeSchema | undefined;

/** The committed schema, parsed on first use. */
export function kubeSchema(): KubeSchema {
  loaded ??= new KubeSchema(JSON.parse(SCHEMA_SOURCE) as SchemaDoc);
  return loaded;
}
