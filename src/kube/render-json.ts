/**
 * A JSON value re-rendered through a Go type of the schema, the way kube-apiserver's typed JSON encoder
 * prints it after decoding: struct field order, omitempty/omitzero, zero values for missing non-omitempty
 * fields. Keys the type does not have are kept (after the known ones) and reported. Uses the same compiled
 * plans as the protobuf renderer (render-proto.ts).
 */
import { isEmpty, planNames, structPlan, type StructPlan } from './plan.js';
import type { JsonObject, JsonValue, RenderContext } from './render-proto.js';
import { ProtoRenderer } from './render-proto.js';
import type { KubeSchema, TypeExpr } from './schema.js';
import { goStringCompare, orderedKeys, orderedObject, setKey } from '../util/json.js';

export class JsonRenderer {
  private readonly proto: ProtoRenderer;
  private readonly schema: KubeSchema;
  /** The JSON path below the value being rendered (only read to report unknown keys). */
  private readonly segs: string[] = [];
  private plen = 0;

  constructor(private readonly ctx: RenderContext) {
    this.proto = new ProtoRenderer(ctx);
    this.schema = ctx.schema;
  }

  value(expr: TypeExpr, v: JsonValue | undefined): JsonValue {
    if (v === undefined) return this.proto.zero(expr);
    switch (expr.t) {
      case 'scalar':
        return v;
      case 'ptr':
        return v === null ? null : this.value(expr.elem, v);
      case 'slice':
        if (!Array.isArray(v)) return v;
        return v.map((x, i) => {
          this.segs[this.plen++] = `[${i}]`;
          const r = this.value(expr.elem, x);
          this.plen--;
          return r;
        });
      case 'map': {
        if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
        // Go prints map keys sorted by their UTF-8 bytes.
        const keys = orderedKeys(v).sort(goStringCompare);
        const vals: JsonValue[] = [];
        for (const k of keys) {
          this.segs[this.plen++] = `.${k}`;
          vals.push(this.value(expr.elem, v[k]));
          this.plen--;
        }
        return orderedObject(keys, vals);
      }
      case 'ref': {
        if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
        const plan = structPlan(this.schema, expr.name);
        if (!plan) return v;
        return this.renderStruct(plan, v);
      }
    }
  }

  /** Renders `input` as the Go struct `typeName` (unknown types: a copy). `path` prefixes reported keys. */
  struct(typeName: string, input: JsonObject, path: string): JsonObject {
    const plan = structPlan(this.schema, typeName);
    if (!plan) return { ...input };
    this.segs[0] = path;
    this.plen = 1;
    return this.renderStruct(plan, input);
  }

  private renderStruct(plan: StructPlan, input: JsonObject): JsonObject {
    const out: JsonObject = {};
    const matched = this.fill(plan, input, out, 0);
    const known = planNames(this.schema, plan);
    if (plan.takesAll) return out;
    if (plan.namesUnique) {
      let n = 0;
      for (const _ in input) n++;
      if (n === matched) return out;
    }
    for (const k of Object.keys(input)) {
      if (known.has(k)) continue;
      setKey(out, k, input[k]!);
      let path = '';
      for (let i = 0; i < this.plen; i++) path += this.segs[i]!;
      this.ctx.unknown.push({ path: `${path}.${k}`, num: 0, wire: -1, value: 'json' });
    }
    return out;
  }

  /** Adds the fields of `plan` found in (or required by) `input` to `out`; returns how many keys it used. */
  private fill(plan: StructPlan, input: JsonObject, out: JsonObject, depth: number): number {
    let matched = 0;
    for (const f of plan.fields) {
      if (f.inline) {
        const inner = f.expr.t === 'ptr' ? f.expr.elem : f.expr;
        if (inner.t !== 'ref' || depth > 16) continue;
        const ip = structPlan(this.schema, inner.name);
        if (ip) matched += this.fill(ip, input, out, depth + 1);
        else if (!this.schema.type(inner.name)) {
          Object.assign(out, input);
          matched += Object.keys(input).length;
        }
        continue;
      }
      const present = Object.prototype.hasOwnProperty.call(input, f.json);
      let value: JsonValue;
      if (present) {
        matched++;
        const v = input[f.json];
        const e = f.expr;
        if (e.t === 'scalar' && v !== undefined) value = v;
        else {
          this.segs[this.plen++] = f.seg;
          value = this.value(e, v);
          this.plen--;
        }
      } else {
        if (!f.current) continue;
        value = this.proto.zeroValue(f.absentZero);
      }
      if (f.omitempty && isEmpty(f.expr, value)) continue;
      if (f.omitzero && this.proto.isZeroField(f, value)) continue;
      out[f.json] = value;
    }
    return matched;
  }
}
