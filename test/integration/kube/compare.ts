/**
 * Compares every object stored in etcd at revision R, decoded by Lifeboat, with kube-apiserver's own
 * answer for that revision (`<list path>?resourceVersion=R&resourceVersionMatch=Exact`, items given kind and
 * apiVersion as kubectl does).
 */
import { parseLosslessJson } from '../../../src/kube/json-value.js';
import type { JsonObject, JsonValue } from '../../../src/kube/render-proto.js';
import { ResourceMap } from '../../../src/kube/resources.js';
import { orderedKeys } from '../../../src/util/json.js';

export interface Kv {
  key: string;
  value: Buffer;
  modRevision: bigint;
}

export interface Mismatch {
  key: string;
  path: string;
  lifeboat: string;
  apiserver: string;
}

export interface Coverage {
  /** apiVersion/kind → objects compared. */
  kinds: Map<string, number>;
  objects: number;
  mismatches: Mismatch[];
  /** Objects the API does not serve (e.g. /registry/ranges), decoded but not comparable. */
  notServed: string[];
  /** Objects the apiserver listed that Lifeboat did not find, or decode errors. */
  missing: string[];
}

/**
 * The first path at which two JSON values differ, or undefined when equal. Objects must also list their keys
 * in the same order (as printed: parseLosslessJson keeps a text's order), except at the top, where kubectl's
 * kind and apiVersion are filled in.
 */
export function firstDifference(
  a: JsonValue | undefined,
  b: JsonValue | undefined,
  path = '',
): string | undefined {
  if (typeof a === 'number' && typeof b === 'bigint') return BigInt(a) === b ? undefined : path || '.';
  if (typeof a === 'bigint' && typeof b === 'number') return a === BigInt(b) ? undefined : path || '.';
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') {
    return a === b ? undefined : path || '.';
  }
  if (Array.isArray(a) !== Array.isArray(b)) return path || '.';
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `${path}[len ${a.length} vs ${b.length}]`;
    for (let i = 0; i < a.length; i++) {
      const d = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  const ao = a as JsonObject;
  const bo = b as JsonObject;
  const top = (k: string): boolean => path !== '' || (k !== 'kind' && k !== 'apiVersion');
  const ka = orderedKeys(ao).filter(top);
  const kb = orderedKeys(bo).filter(top);
  if (ka.length === kb.length && ka.some((k, i) => k !== kb[i]))
    return `${path}{key order: ${ka.join(',')} vs ${kb.join(',')}}`.slice(0, 300);
  for (const k of new Set([...Object.keys(ao), ...Object.keys(bo)])) {
    const d = firstDifference(ao[k], bo[k], `${path}.${k}`);
    if (d) return d;
  }
  return undefined;
}

function at(v: JsonValue | undefined, path: string): string {
  const parts = path.match(/[^.[\]]+/g) ?? [];
  let cur: JsonValue | undefined = v;
  for (const p of parts) {
    if (cur && typeof cur === 'object') cur = Array.isArray(cur) ? cur[Number(p)] : cur[p];
    else cur = undefined;
  }
  const text = JSON.stringify(cur, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));
  return (text ?? 'undefined').slice(0, 200);
}

export interface CompareOptions {
  kvs: Kv[];
  revision: bigint;
  /** GET a path from the apiserver (kubectl get --raw); returns the body text. */
  getRaw: (path: string) => Promise<string>;
  /** Lifeboat's decoding of one key/value. */
  decode: (kv: Kv) => JsonObject;
  prefix?: string;
}

export async function compareWithApiserver(opts: CompareOptions): Promise<Coverage> {
  const map = new ResourceMap(opts.prefix);
  const cov: Coverage = { kinds: new Map(), objects: 0, mismatches: [], notServed: [], missing: [] };
  // list path → decoded objects by namespace/name
  const groups = new Map<string, Map<string, { kv: Kv; obj: JsonObject }>>();
  for (const kv of opts.kvs) {
    const parsed = map.parse(kv.key);
    if (parsed.notObject) continue;
    let obj: JsonObject;
    try {
      obj = opts.decode(kv);
    } catch (e) {
      cov.missing.push(`${kv.key}: ${(e as Error).message}`);
      continue;
    }
    if (parsed.resource?.internal) {
      cov.notServed.push(`${kv.key} (${String(obj.kind)})`);
      continue;
    }
    const resource = parsed.resource?.resource ?? parsed.resourceName;
    const apiVersion = String(obj.apiVersion);
    const path = `${apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`}/${resource}`;
    const meta = (obj.metadata as JsonObject | null) ?? {};
    const id = `${String(meta.namespace ?? '')}/${String(meta.name)}`;
    let g = groups.get(path);
    if (!g) groups.set(path, (g = new Map()));
    g.set(id, { kv, obj });
  }
  for (const [path, objs] of [...groups].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const body = await opts.getRaw(`${path}?resourceVersion=${opts.revision}&resourceVersionMatch=Exact`);
    const list = parseLosslessJson(body) as JsonObject;
    const items = (list.items as JsonObject[] | null) ?? [];
    const kind = String(list.kind).replace(/List$/, '');
    const seen = new Set<string>();
    for (const item of items) {
      const expected: JsonObject = { kind, apiVersion: String(list.apiVersion), ...item };
      if (item.kind !== undefined) expected.kind = item.kind;
      if (item.apiVersion !== undefined) expected.apiVersion = item.apiVersion;
      const meta = item.metadata as JsonObject | null;
      if (!meta) {
        cov.missing.push(`${path}: an item without metadata: ${JSON.stringify(item).slice(0, 200)}`);
        continue;
      }
      const id = `${String(meta.namespace ?? '')}/${String(meta.name)}`;
      seen.add(id);
      const mine = objs.get(id);
      if (!mine) {
        cov.missing.push(`${path} ${id}: listed by the apiserver, not found in etcd by Lifeboat`);
        continue;
      }
      const k = `${String(expected.apiVersion)}/${String(expected.kind)}`;
      cov.kinds.set(k, (cov.kinds.get(k) ?? 0) + 1);
      cov.objects++;
      const d = firstDifference(mine.obj, expected);
      if (d)
        cov.mismatches.push({
          key: mine.kv.key,
          path: d,
          lifeboat: at(mine.obj, d),
          apiserver: at(expected, d),
        });
    }
    for (const [id, o] of objs)
      if (!seen.has(id)) cov.missing.push(`${o.kv.key}: in etcd, not listed by the apiserver at ${path}`);
  }
  return cov;
}

/** Parses `etcdctl get --prefix -w json` output. */
export function parseEtcdctlJson(text: string): Kv[] {
  const doc = parseLosslessJson(text) as JsonObject;
  const kvs = (doc.kvs as JsonObject[] | undefined) ?? [];
  return kvs.map((kv) => ({
    key: Buffer.from(String(kv.key), 'base64').toString('utf8'),
    value: Buffer.from(String(kv.value ?? ''), 'base64'),
    modRevision: BigInt(kv.mod_revision as number | bigint),
  }));
}

export function formatCoverage(c: Coverage): string {
  const lines = [
    `coverage: ${c.kinds.size} kinds, ${c.objects} objects compared, ${c.mismatches.length} mismatches, ` +
      `${c.missing.length} missing/errors, ${c.notServed.length} not served by the API (decoded only)`,
  ];
  for (const [k, n] of [...c.kinds].sort()) lines.push(`  ${k}: ${n}`);
  for (const m of c.mismatches.slice(0, 40))
    lines.push(`  MISMATCH ${m.key} at ${m.path}: lifeboat=${m.lifeboat} apiserver=${m.apiserver}`);
  for (const m of c.missing.slice(0, 40)) lines.push(`  MISSING ${m}`);
  for (const m of c.notServed) lines.push(`  not served: ${m}`);
  return lines.join('\n');
}
