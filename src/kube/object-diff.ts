/**
 * Differences between stored objects: which fields always churn (resourceVersion, managedFields times —
 * ignored unless asked), and a unified diff of the YAML kubectl would print.
 */
import { createTwoFilesPatch } from 'diff';
import { toGoYaml } from './go-yaml.js';
import type { JsonObject, JsonValue } from './render-proto.js';

/** The object without the fields that change on every write. */
export function withoutChurn(o: JsonObject): JsonObject {
  const meta = o.metadata;
  if (!meta || typeof meta !== 'object' || Array.isArray(meta)) return o;
  const { resourceVersion: _rv, ...rest } = meta;
  const m: JsonObject = { ...rest };
  if (Array.isArray(m.managedFields)) {
    m.managedFields = m.managedFields.map((e: JsonValue) => {
      if (!e || typeof e !== 'object' || Array.isArray(e)) return e;
      const { time: _t, ...r } = e;
      return r;
    });
  }
  return { ...o, metadata: m };
}

export function toSortedYaml(o: JsonObject): string {
  return toGoYaml(o);
}

/** A unified diff of two objects' YAML ('' when equal). */
export function yamlDiff(
  label: string,
  before: JsonObject | undefined,
  after: JsonObject | undefined,
  context = 3,
): string {
  const a = before ? toSortedYaml(before) : '';
  const b = after ? toSortedYaml(after) : '';
  if (a === b) return '';
  return createTwoFilesPatch(`a/${label}`, `b/${label}`, a, b, undefined, undefined, { context });
}
