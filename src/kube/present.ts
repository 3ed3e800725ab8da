/**
 * kubectl-like presentation of decoded objects: label and field selectors, `-o json|yaml|name|wide|table`
 * (kubectl sorts keys, indents JSON by 4 and wraps several objects in a List), table columns for common
 * kinds and additionalPrinterColumns for custom resources, and AGE measured from the snapshot's time.
 */
import { UsageError } from '../util/errors.js';
import { toGoYaml } from './go-yaml.js';
import { goStringCompare, orderedObject, stringifyJson } from '../util/json.js';
import type { ShowOptions } from './decode.js';
import { redactSecret } from './redact.js';
import type { JsonObject, JsonValue, UnknownField } from './render-proto.js';
import type { ResourceInfo } from './resources.js';

export type OutputFormat = 'json' | 'yaml' | 'name' | 'wide' | 'table';

function asObj(v: JsonValue | undefined): JsonObject | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

/** Where fields unknown to the schema travel with the object they came from. */
export const UNKNOWN_FIELDS_ANNOTATION = 'lifeboat.io/unknown-fields';

/** The object with its unknown fields kept (not dropped) in the annotation UNKNOWN_FIELDS_ANNOTATION. */
export function withUnknownFields(obj: JsonObject, unknown: UnknownField[]): JsonObject {
  if (unknown.length === 0) return obj;
  const m = (obj.metadata ?? {}) as JsonObject;
  const ann = (m.annotations ?? {}) as JsonObject;
  return {
    ...obj,
    metadata: { ...m, annotations: { ...ann, [UNKNOWN_FIELDS_ANNOTATION]: JSON.stringify(unknown) } },
  };
}

/** The warning for an object with unknown fields (without the `lifeboat: warning: ` prefix). */
export function unknownFieldsNote(key: string, unknown: UnknownField[]): string {
  const some = unknown
    .slice(0, 3)
    .map((u) => `${u.path} #${u.num}`)
    .join(', ');
  return `${key}: ${unknown.length} field(s) unknown to the schema (${some}) kept in the annotation ${UNKNOWN_FIELDS_ANNOTATION}`;
}

/** The object as printed: managedFields hidden unless asked, Secrets redacted unless asked. */
export function present(o: JsonObject, opts: ShowOptions): JsonObject {
  let obj = o;
  const meta = asObj(obj.metadata);
  if (!opts.showManagedFields && meta && 'managedFields' in meta) {
    const { managedFields: _drop, ...rest } = meta;
    obj = { ...obj, metadata: rest as { [k: string]: JsonValue } };
  }
  return opts.showSecrets ? obj : redactSecret(obj);
}

/** Keys sorted at every level as Go sorts map keys (UTF-8 bytes), as kubectl prints (unstructured maps). */
export function sortKeys(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const keys = Object.keys(v).sort(goStringCompare);
    return orderedObject(
      keys,
      keys.map((k) => sortKeys(v[k]!)),
    );
  }
  return v;
}

type Requirement = { key: string; op: '=' | '!=' | 'in' | 'notin' | 'exists' | '!'; values: string[] };

/** Parses a label selector: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, comma-separated. */
export function parseSelector(text: string): Requirement[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) parts.push(cur);
  return parts.map((p) => {
    const s = p.trim();
    let m = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(s);
    if (m) return { key: m[1]!, op: m[2] as 'in' | 'notin', values: m[3]!.split(',').map((x) => x.trim()) };
    m = /^([^\s!=]+)\s*(==|=|!=)\s*(\S*)$/.exec(s);
    if (m) return { key: m[1]!, op: m[2] === '!=' ? '!=' : '=', values: [m[3]!] };
    m = /^!\s*([^\s!=]+)$/.exec(s);
    if (m) return { key: m[1]!, op: '!', values: [] };
    if (/^[^\s!=(),]+$/.test(s)) return { key: s, op: 'exists', values: [] };
    throw new UsageError(`-l: cannot parse selector requirement '${s}'`);
  });
}

export function matchesSelector(labels: Record<string, JsonValue> | undefined, reqs: Requirement[]): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = has ? String(l[r.key]) : undefined;
    switch (r.op) {
      case '=':
        return v === r.values[0];
      case '!=':
        return v !== r.values[0];
      case 'in':
        return v !== undefined && r.values.includes(v);
      case 'notin':
        return v === undefined || !r.values.includes(v);
      case 'exists':
        return has;
      case '!':
        return !has;
    }
  });
}

/** `--field-selector metadata.name=x,metadata.namespace!=y` (the fields every resource supports). */
export function parseFieldSelector(text: string): (o: JsonObject) => boolean {
  const reqs = text.split(',').map((p) => {
    const m = /^(metadata\.name|metadata\.namespace)\s*(==|=|!=)\s*(.*)$/.exec(p.trim());
    if (!m)
      throw new UsageError(
        `--field-selector: expected metadata.name or metadata.namespace with =, == or !=, got '${p}'`,
      );
    return { field: m[1] === 'metadata.name' ? 'name' : 'namespace', neg: m[2] === '!=', value: m[3]! };
  });
  return (o) =>
    reqs.every((r) => {
      const v = String(asObj(o.metadata)?.[r.field] ?? '');
      return r.neg ? v !== r.value : v === r.value;
    });
}

/** kubectl's `<kind>.<group>/<name>` for -o name. */
export function nameOf(r: ResourceInfo | undefined, o: JsonObject): string {
  const kind = String(o.kind ?? r?.kind ?? '').toLowerCase();
  const apiVersion = String(o.apiVersion ?? '');
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
  return `${kind}${group ? `.${group}` : ''}/${String(asObj(o.metadata)?.name ?? '')}`;
}

/** kubectl's short age: 5s, 3m, 2d4h, 40d, 2y… */
export function humanAge(from: Date, now: Date): string {
  let s = Math.floor((now.getTime() - from.getTime()) / 1000);
  if (s < 0) s = 0;
  const m = Math.floor(s / 60);
  const h = Math.floor(m / 60);
  const d = Math.floor(h / 24);
  if (s < 120) return `${s}s`;
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ''}`;
  if (h < 3) return `${m}m`;
  if (h < 8) return `${h}h${m % 60 ? `${m % 60}m` : ''}`;
  if (h < 48) return `${h}h`;
  if (d < 8) return `${d}d${h % 24 ? `${h % 24}h` : ''}`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

/** A minimal JSONPath for printer columns: `.a.b`, `.a[0].b`, `.a[*].b`. */
export function jsonPath(o: JsonValue, path: string): JsonValue[] {
  const toks = path.replace(/^\{|\}$/g, '').match(/[^.[\]]+|\[\*\]|\[\d+\]/g) ?? [];
  let cur: JsonValue[] = [o];
  for (const t of toks) {
    const next: JsonValue[] = [];
    for (const c of cur) {
      if (t === '[*]') {
        if (Array.isArray(c)) next.push(...c);
      } else if (/^\[\d+\]$/.test(t)) {
        if (Array.isArray(c)) {
          const x = c[Number(t.slice(1, -1))];
          if (x !== undefined) next.push(x);
        }
      } else {
        const x = asObj(c)?.[t];
        if (x !== undefined) next.push(x);
      }
    }
    cur = next;
  }
  return cur;
}

function cell(v: JsonValue[]): string {
  if (v.length === 0) return '<none>';
  return v.map((x) => (typeof x === 'object' && x !== null ? JSON.stringify(x) : String(x))).join(',');
}

type Column = { name: string; wide?: boolean; value: (o: JsonObject, now: Date) => string };

function str(v: JsonValue | undefined, dflt = '<none>'): string {
  return v === undefined || v === null || v === '' ? dflt : String(v);
}

function count(v: JsonValue | undefined): string {
  const o = asObj(v);
  return String(o ? Object.keys(o).length : Array.isArray(v) ? v.length : 0);
}

/** metav1.LabelSelectorAsSelector(s).String(): requirements sorted by key, `<none>` when absent. */
export function selectorString(sel: JsonValue | undefined): string {
  const s = asObj(sel);
  if (!s) return '<none>';
  const reqs: { key: string; text: string }[] = [];
  for (const [k, v] of Object.entries(asObj(s.matchLabels) ?? {}))
    reqs.push({ key: k, text: `${k}=${String(v)}` });
  for (const e of (s.matchExpressions as JsonObject[] | undefined) ?? []) {
    const key = String(e.key);
    const values = ((e.values as JsonValue[] | undefined) ?? []).map(String).sort();
    const text =
      e.operator === 'In'
        ? `${key} in (${values.join(',')})`
        : e.operator === 'NotIn'
          ? `${key} notin (${values.join(',')})`
          : e.operator === 'Exists'
            ? key
            : `!${key}`;
    reqs.push({ key, text });
  }
  reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return reqs.map((r) => r.text).join(',');
}

/** CONTAINERS, IMAGES, SELECTOR: kubectl's wide columns of workloads with a pod template. */
const podTemplateWideColumns: Column[] = [
  {
    name: 'CONTAINERS',
    wide: true,
    value: (o) =>
      str(
        podContainers(o)
          .map((c) => String(c.name))
          .join(','),
      ),
  },
  {
    name: 'IMAGES',
    wide: true,
    value: (o) =>
      str(
        podContainers(o)
          .map((c) => String(c.image))
          .join(','),
      ),
  },
  { name: 'SELECTOR', wide: true, value: (o) => selectorString(asObj(o.spec)?.selector) },
];

function podContainers(o: JsonObject): JsonObject[] {
  return (asObj(asObj(asObj(o.spec)?.template)?.spec)?.containers as JsonObject[] | undefined) ?? [];
}

const BUILTIN_COLUMNS: Record<string, Column[]> = {
  Pod: [
    {
      name: 'READY',
      value: (o) => {
        const cs = (asObj(o.status)?.containerStatuses as JsonObject[] | undefined) ?? [];
        const total = ((asObj(o.spec)?.containers as JsonValue[] | undefined) ?? []).length;
        return `${cs.filter((c) => c.ready === true).length}/${total}`;
      },
    },
    { name: 'STATUS', value: (o) => str(asObj(o.status)?.reason ?? asObj(o.status)?.phase) },
    {
      name: 'RESTARTS',
      value: (o) =>
        String(
          ((asObj(o.status)?.containerStatuses as JsonObject[] | undefined) ?? []).reduce(
            (n, c) => n + Number(c.restartCount ?? 0),
            0,
          ),
        ),
    },
    { name: 'IP', wide: true, value: (o) => str(asObj(o.status)?.podIP) },
    { name: 'NODE', wide: true, value: (o) => str(asObj(o.spec)?.nodeName) },
    { name: 'NOMINATED NODE', wide: true, value: (o) => str(asObj(o.status)?.nominatedNodeName) },
    {
      name: 'READINESS GATES',
      wide: true,
      value: (o) => {
        const gates = (asObj(o.spec)?.readinessGates as JsonObject[] | undefined) ?? [];
        if (gates.length === 0) return '<none>';
        const conds = (asObj(o.status)?.conditions as JsonObject[] | undefined) ?? [];
        const ready = gates.filter((g) =>
          conds.some((c) => c.type === g.conditionType && c.status === 'True'),
        ).length;
        return `${ready}/${gates.length}`;
      },
    },
  ],
  Deployment: [
    {
      name: 'READY',
      value: (o) => `${str(asObj(o.status)?.readyReplicas, '0')}/${str(asObj(o.spec)?.replicas, '1')}`,
    },
    { name: 'UP-TO-DATE', value: (o) => str(asObj(o.status)?.updatedReplicas, '0') },
    { name: 'AVAILABLE', value: (o) => str(asObj(o.status)?.availableReplicas, '0') },
    ...podTemplateWideColumns,
  ],
  Service: [
    { name: 'TYPE', value: (o) => str(asObj(o.spec)?.type) },
    { name: 'CLUSTER-IP', value: (o) => str(asObj(o.spec)?.clusterIP) },
    {
      name: 'EXTERNAL-IP',
      value: (o) => str(((asObj(o.spec)?.externalIPs as JsonValue[] | undefined) ?? []).join(',')),
    },
    {
      name: 'PORT(S)',
      value: (o) =>
        str(
          ((asObj(o.spec)?.ports as JsonObject[] | undefined) ?? [])
            .map(
              (p) =>
                `${String(p.port)}${p.nodePort ? `:${String(p.nodePort)}` : ''}/${String(p.protocol ?? 'TCP')}`,
            )
            .join(','),
        ),
    },
  ],
  ConfigMap: [{ name: 'DATA', value: (o) => String(Number(count(o.data)) + Number(count(o.binaryData))) }],
  Secret: [
    { name: 'TYPE', value: (o) => str(o.type) },
    { name: 'DATA', value: (o) => count(o.data) },
  ],
  Namespace: [{ name: 'STATUS', value: (o) => str(asObj(o.status)?.phase) }],
  Node: [
    {
      name: 'STATUS',
      value: (o) => {
        const ready = ((asObj(o.status)?.conditions as JsonObject[] | undefined) ?? []).find(
          (c) => c.type === 'Ready',
        );
        return ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown';
      },
    },
    { name: 'VERSION', value: (o) => str(asObj(asObj(o.status)?.nodeInfo)?.kubeletVersion, '') },
  ],
  ServiceAccount: [{ name: 'SECRETS', value: (o) => count(o.secrets) }],
  PersistentVolumeClaim: [
    { name: 'STATUS', value: (o) => str(asObj(o.status)?.phase) },
    { name: 'VOLUME', value: (o) => str(asObj(o.spec)?.volumeName, '') },
    { name: 'STORAGECLASS', value: (o) => str(asObj(o.spec)?.storageClassName) },
  ],
  CustomResourceDefinition: [{ name: 'CREATED AT', value: (o) => str(asObj(o.metadata)?.creationTimestamp) }],
  StatefulSet: [
    {
      name: 'READY',
      value: (o) => `${str(asObj(o.status)?.readyReplicas, '0')}/${str(asObj(o.spec)?.replicas, '1')}`,
    },
  ],
  ReplicaSet: [
    { name: 'DESIRED', value: (o) => str(asObj(o.spec)?.replicas, '1') },
    { name: 'CURRENT', value: (o) => str(asObj(o.status)?.replicas, '0') },
    { name: 'READY', value: (o) => str(asObj(o.status)?.readyReplicas, '0') },
  ],
  DaemonSet: [
    { name: 'DESIRED', value: (o) => str(asObj(o.status)?.desiredNumberScheduled, '0') },
    { name: 'CURRENT', value: (o) => str(asObj(o.status)?.currentNumberScheduled, '0') },
    { name: 'READY', value: (o) => str(asObj(o.status)?.numberReady, '0') },
  ],
  Job: [
    {
      name: 'STATUS',
      value: (o) =>
        asObj(o.status)?.completionTime ? 'Complete' : asObj(o.spec)?.suspend ? 'Suspended' : 'Running',
    },
    {
      name: 'COMPLETIONS',
      value: (o) => `${str(asObj(o.status)?.succeeded, '0')}/${str(asObj(o.spec)?.completions, '1')}`,
    },
  ],
  CronJob: [
    { name: 'SCHEDULE', value: (o) => str(asObj(o.spec)?.schedule) },
    { name: 'TIMEZONE', value: (o) => str(asObj(o.spec)?.timeZone) },
    { name: 'SUSPEND', value: (o) => String(asObj(o.spec)?.suspend === true) },
  ],
  PersistentVolume: [
    { name: 'CAPACITY', value: (o) => str(asObj(asObj(o.spec)?.capacity)?.storage, '') },
    { name: 'RECLAIM POLICY', value: (o) => str(asObj(o.spec)?.persistentVolumeReclaimPolicy, '') },
    { name: 'STATUS', value: (o) => str(asObj(o.status)?.phase, '') },
    { name: 'STORAGECLASS', value: (o) => str(asObj(o.spec)?.storageClassName, '') },
  ],
  StorageClass: [
    { name: 'PROVISIONER', value: (o) => str(o.provisioner) },
    { name: 'RECLAIMPOLICY', value: (o) => str(o.reclaimPolicy, 'Delete') },
    { name: 'VOLUMEBINDINGMODE', value: (o) => str(o.volumeBindingMode, 'Immediate') },
  ],
  Ingress: [
    { name: 'CLASS', value: (o) => str(asObj(o.spec)?.ingressClassName) },
    {
      name: 'HOSTS',
      value: (o) =>
        str(((asObj(o.spec)?.rules as JsonObject[] | undefined) ?? []).map((r) => r.host ?? '*').join(',')),
    },
  ],
  Lease: [{ name: 'HOLDER', value: (o) => str(asObj(o.spec)?.holderIdentity, '') }],
  PriorityClass: [{ name: 'VALUE', value: (o) => str(o.value, '0') }],
  RoleBinding: [
    { name: 'ROLE', value: (o) => `${str(asObj(o.roleRef)?.kind)}/${str(asObj(o.roleRef)?.name)}` },
  ],
  ClusterRoleBinding: [
    { name: 'ROLE', value: (o) => `${str(asObj(o.roleRef)?.kind)}/${str(asObj(o.roleRef)?.name)}` },
  ],
  APIService: [
    {
      name: 'SERVICE',
      value: (o) => {
        const svc = asObj(asObj(o.spec)?.service);
        return svc ? `${str(svc.namespace)}/${str(svc.name)}` : 'Local';
      },
    },
  ],
};

/**
 * The columns of a kind. Custom resources whose CRD declares additionalPrinterColumns show exactly those
 * (in order; `date` columns as ages; priority > 0 only with -o wide) and no implicit AGE, as the apiextensions
 * table convertor serves them; everything else gets AGE after its own columns.
 */
function columnsFor(
  r: ResourceInfo | undefined,
  kind: string,
  wide: boolean,
): { cols: Column[]; age: boolean } {
  if (r?.printerColumns && r.printerColumns.length > 0) {
    const cols = r.printerColumns
      .filter((c) => wide || !c.priority)
      .map((c) => ({
        name: c.name.toUpperCase(),
        value: (o: JsonObject, now: Date): string => {
          const v = jsonPath(o, c.jsonPath);
          if (c.type === 'date' && v.length === 1 && typeof v[0] === 'string') {
            const t = new Date(v[0]);
            if (!Number.isNaN(t.getTime())) return humanAge(t, now);
          }
          return cell(v);
        },
      }));
    return { cols, age: false };
  }
  return { cols: (BUILTIN_COLUMNS[kind] ?? []).filter((c) => wide || !c.wide), age: true };
}

export interface TableInput {
  resource?: ResourceInfo;
  object: JsonObject;
}

/** kubectl's table: NAMESPACE (with -A), NAME, kind columns, AGE. */
export function renderTable(
  rows: TableInput[],
  opts: { allNamespaces: boolean; wide: boolean; now: Date; withKind?: boolean },
): string {
  if (rows.length === 0) return '';
  const kind = String(rows[0]!.object.kind ?? '');
  const { cols, age } = columnsFor(rows[0]!.resource, kind, opts.wide);
  // kubectl puts the -o wide columns of built-in kinds after AGE.
  const main = cols.filter((c) => !c.wide);
  const extra = cols.filter((c) => c.wide);
  const header = [
    ...(opts.allNamespaces ? ['NAMESPACE'] : []),
    'NAME',
    ...main.map((c) => c.name),
    ...(age ? ['AGE'] : []),
    ...extra.map((c) => c.name),
  ];
  const lines = rows.map(({ object }) => {
    const meta = asObj(object.metadata) ?? {};
    const created = typeof meta.creationTimestamp === 'string' ? new Date(meta.creationTimestamp) : undefined;
    return [
      ...(opts.allNamespaces ? [str(meta.namespace, '')] : []),
      opts.withKind ? nameOf(rows[0]!.resource, object) : String(meta.name ?? ''),
      ...main.map((c) => c.value(object, opts.now)),
      ...(age ? [created ? humanAge(created, opts.now) : '<unknown>'] : []),
      ...extra.map((c) => c.value(object, opts.now)),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (l: string[]): string =>
    l
      .map((c, i) => (i === l.length - 1 ? c : c.padEnd(widths[i]! + 3)))
      .join('')
      .trimEnd();
  return [fmt(header), ...lines.map(fmt)].join('\n') + '\n';
}

/** Go's encoding/json escapes <, >, & and U+2028/U+2029 inside strings (they never occur outside them). */
export function goJsonEscape(text: string): string {
  return text.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** kubectl's List wrapper for several objects (`kubectl get a,b -o json|yaml`). */
export function listOf(objects: JsonObject[]): JsonObject {
  return { apiVersion: 'v1', items: objects, kind: 'List', metadata: { resourceVersion: '' } };
}

/**
 * -o json / -o yaml of one object, or a List of several: JSON keys sorted and indented by 4 as kubectl's
 * json.MarshalIndent prints unstructured objects; YAML as sigs.k8s.io/yaml (go-yaml v2) prints them.
 */
export function renderDocument(objects: JsonObject[], format: 'json' | 'yaml', asList: boolean): string {
  const doc: JsonValue = asList ? listOf(objects) : objects[0]!;
  if (format === 'json') return goJsonEscape(stringifyJson(sortKeys(doc), 4)) + '\n';
  return toGoYaml(doc);
}
