/**
 * Secret redaction: every value of a Secret's `data` and `stringData` becomes `REDACTED(sha256:<8 hex>)`
 * (the hash of the decoded bytes, so equal values stay recognisably equal), also inside the
 * `kubectl.kubernetes.io/last-applied-configuration` annotation.
 */
import { createHash } from 'node:crypto';
import type { JsonObject, JsonValue } from './render-proto.js';
import { orderedKeys, orderedObject, stringifyJson } from '../util/json.js';
import { parseLosslessJson } from './json-value.js';

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

export function redactedMarker(bytes: Buffer): string {
  return `REDACTED(sha256:${createHash('sha256').update(bytes).digest('hex').slice(0, 8)})`;
}

function redactMap(m: JsonValue | undefined, base64: boolean): JsonValue | undefined {
  if (!m || typeof m !== 'object' || Array.isArray(m)) return m;
  const keys = orderedKeys(m);
  return orderedObject(
    keys,
    keys.map((k) => {
      const v = m[k];
      const text = typeof v === 'string' ? v : JSON.stringify(v);
      return redactedMarker(base64 ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8'));
    }),
  );
}

function isSecret(o: JsonObject): boolean {
  return o.kind === 'Secret' && (o.apiVersion === 'v1' || o.apiVersion === undefined);
}

function redactSecretBody(o: JsonObject): JsonObject {
  const out: JsonObject = { ...o };
  if (o.data !== undefined) out.data = redactMap(o.data, true) ?? null;
  if (o.stringData !== undefined) out.stringData = redactMap(o.stringData, false) ?? null;
  return out;
}

/** A copy of a Secret with its values redacted; other objects are returned as they are. */
export function redactSecret(obj: JsonObject): JsonObject {
  if (!isSecret(obj)) return obj;
  const out = redactSecretBody(obj);
  const meta = obj.metadata;
  if (meta && typeof meta === 'object' && !Array.isArray(meta)) {
    const ann = meta.annotations;
    if (ann && typeof ann === 'object' && !Array.isArray(ann) && typeof ann[LAST_APPLIED] === 'string') {
      let replaced: string;
      try {
        // Read and printed keeping the annotation's key order and 64-bit integers.
        const applied = parseLosslessJson(ann[LAST_APPLIED]) as JsonObject;
        replaced =
          stringifyJson(redactSecretBody(applied), 0) + (ann[LAST_APPLIED].endsWith('\n') ? '\n' : '');
      } catch {
        replaced = redactedMarker(Buffer.from(ann[LAST_APPLIED], 'utf8'));
      }
      out.metadata = { ...meta, annotations: { ...ann, [LAST_APPLIED]: replaced } };
    }
  }
  return out;
}
