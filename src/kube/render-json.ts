/**
 * A JSON value re-rendered through a Go type of the schema, the way kube-apiserver's typed JSON encoder
 * prints it after decoding: struct field order, omitempty/omitzero, zero values for missing non-omitempty
 * fields. Keys the type does not have are kept (after the known ones) and reported.
 */
import type { JsonObject, JsonValue, UnknownField } from './render-proto.js';
import { isEmpty, ProtoRenderer, type RenderContext } from './render-proto.js';
import type { TypeExpr } from './schema.js';

export class JsonRenderer {
  private readonly proto: ProtoRenderer;
  constructor(private readonly ctx: RenderContext) {
    this.proto = new ProtoRenderer(ctx);
  }

  value(expr: TypeExpr, v: JsonValue | undefined, path: string): JsonValue {
    if (v === undefined) return this.proto.zero(expr, path);
    switch (expr.t) {
      case 'scalar':
        return v;
      case 'ptr':
        return v === null ? null : this.value(expr.elem, v, path);
      case 'slice':
        return Array.isArray(v) ? v.map((x, i) => this.value(expr.elem, x, `${path}[${i}]`)) : v;
      case 'map': {
        if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
        const out: JsonObject = {};
        for (const k of Object.keys(v).sort()) out[k] = this.value(expr.elem, v[k], `${path}.${k}`);
        return out;
      }
      case 'ref': {
        const t = this.ctx.schema.type(expr.name);
        if (!t || t.special) return v;
        if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
        return this.struct(expr.name, v, path);
      }
    }
  }

  struct(typeName: string, input: JsonObject, path: string): JsonObject {
    const out: JsonObject = {};
    const used = new Set<string>();
    this.fill(typeName, input, path, out, used);
    for (const k of Object.keys(input)) {
      if (used.has(k)) continue;
      out[k] = input[k]!;
      const u: UnknownField = { path: `${path}.${k}`, num: 0, wire: -1, value: 'json' };
      this.ctx.unknown.push(u);
    }
    return out;
  }

  private fill(typeName: string, input: JsonObject, path: string, out: JsonObject, used: Set<string>): void {
    const t = this.ctx.schema.type(typeName);
    if (!t) {
      Object.assign(out, input);
      for (const k of Object.keys(input)) used.add(k);
      return;
    }
    for (const f of t.fields) {
      if (f.inline) {
        const inner = f.expr.t === 'ptr' ? f.expr.elem : f.expr;
        if (inner.t === 'ref') this.fill(inner.name, input, path, out, used);
        continue;
      }
      if (!f.json) continue;
      const present = Object.prototype.hasOwnProperty.call(input, f.json);
      if (!present && !f.current) continue;
      used.add(f.json);
      const value = this.value(f.expr, present ? input[f.json] : undefined, `${path}.${f.json}`);
      if (f.omitempty && isEmpty(f.expr, value)) continue;
      if (f.omitzero && this.proto.isZero(f.expr, value, path)) continue;
      out[f.json] = value;
    }
  }
}
