/**
 * `lifeboat get | diff` as a user runs them (bin/lifeboat), over one snapshot of a real kube-apiserver + etcd
 * made once for the file, checked against what kubectl prints from the live apiserver for the same objects
 * at the same revision: several types at once, TYPE/NAME, -o name|wide|json|yaml, label and field selectors,
 * `diff --from-rev/--to-rev`, and the one-line errors (unknown resource, missing --from, object not found).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { prefixRangeEnd } from '../../../src/etcd/index.js';
import { present, withUnknownFields } from '../../../src/kube/present.js';
import { canonicalQuantity } from '../../../src/kube/quantity.js';
import { stringifyJson } from '../../../src/util/json.js';
import { KubeStore, type ObjectView } from '../../../src/kube/store.js';
import { openSnapshot } from '../../../src/snapshot/index.js';
import { Harness } from '../../../src/lab/harness.js';
import { runCli } from '../../helpers/cli.js';
import { etcdctl } from '../../helpers/etcdctl.js';
import { kubectl } from './corpus.js';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-get-cli-'));
const snap = join(dir, 'snap.db');
let h: Harness;
let rev1 = 0n;
let rev2 = 0n;
/** kubectl's answers from the live apiserver, read right after the snapshot (nothing changes after it). */
const live = new Map<string, string>();

const MULTI_DATA = {
  // Integer-like keys sort as text in kubectl's JSON ("10" < "2") and naturally in its YAML ("2" < "10");
  // `__proto__` is an ordinary key (computed here so that the literal does not set the prototype).
  '10': 'ten',
  '2': 'two',
  ['__proto__']: 'proto',
  'config.yaml': 'a: 1\nb:\n- x\n- "y"\n',
  'script.sh': '#!/bin/sh\necho "hi"  # greet\n',
  flag: 'true',
  yes: 'on',
  mode: '0755',
  version: '1.0',
  when: '2024-01-02T03:04:05Z',
  empty: '',
  star: '*',
  indented: '  two spaces first\nthen none\n',
  tabbed: 'a\tb\n',
  trailing: 'x  \ny',
  kept: 'ends with blank lines\n\n',
  long: Array.from({ length: 40 }, (_, i) => `word${i}`).join(' '),
  item10: '10',
  item9: '9',
};

const MANIFESTS = `
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: a, namespace: shop, labels: {app: web, tier: frontend}}
data: {k: v1}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b, namespace: shop, labels: {app: db, tier: backend}}
data: {k: v1}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: shop, labels: {tier: cache}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: multi, namespace: shop, labels: {app: web}}
data: ${JSON.stringify(MULTI_DATA)}
---
apiVersion: v1
kind: Secret
metadata: {name: s1, namespace: shop}
stringData: {password: not-shown}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
    matchExpressions: [{key: tier, operator: In, values: [frontend, edge]}]
  template:
    metadata: {labels: {app: web, tier: frontend}}
    spec:
      containers:
      - name: app
        image: registry.example/web:1.2
        args: ['--listen=:8080', '*', 'yes']
        resources: {requests: {cpu: 250m, memory: 64Mi}, limits: {cpu: '1', memory: 1Gi}}
      - name: sidecar
        image: registry.example/proxy:0.9
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Size, type: string, jsonPath: .spec.size}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Tags, type: string, jsonPath: .spec.tags, priority: 1}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: string}
              replicas: {type: integer}
              ratio: {type: number}
              tags: {type: array, items: {type: string}}
`;

const WIDGET = `
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1, namespace: shop, labels: {app: web}}
spec: {size: "1.0", replicas: 3, ratio: 0.25, tags: ["on", "x: y", "plain"]}
`;

// Quantities as a user may write them; the apiserver's answer for each is compared with canonicalQuantity().
const QUANTITIES = [
  '1.5', '0.1', '1000m', '2000', '1024Mi', '0.5Gi', '1.5Gi', '1.5Ki', '1.5e3', '0.0000000001',
  '100m', '1G', '1E3', '+1M', '100Mi', '1536Ki', '9223372036854775808', '0Mi', '01M', '12.50',
]; // prettier-ignore
const QUOTA_KEYS = [
  'cpu', 'memory', 'limits.ephemeral-storage', 'ephemeral-storage', 'requests.cpu', 'limits.cpu', 'requests.memory',
  'limits.memory', 'requests.storage', 'requests.ephemeral-storage',
]; // prettier-ignore
const quotaHard = (i: number): Record<string, string> =>
  Object.fromEntries(QUOTA_KEYS.map((k, j) => [k, QUANTITIES[i * QUOTA_KEYS.length + j]!]));
const QUOTAS = [0, 1]
  .map(
    (i) =>
      `---\napiVersion: v1\nkind: ResourceQuota\nmetadata: {name: q${i}, namespace: shop}\nspec: {hard: ${JSON.stringify(quotaHard(i))}}\n`,
  )
  .join('');
/** A ResourceQuota written straight into etcd as JSON (as JSON-storage clusters hold them), non-canonical. */
const RAW_QUOTA = JSON.stringify({
  kind: 'ResourceQuota',
  apiVersion: 'v1',
  metadata: {
    name: 'raw',
    namespace: 'shop',
    uid: '6b1f3c1e-0000-4000-8000-000000000001',
    creationTimestamp: '2024-01-02T03:04:05Z',
  },
  spec: {
    hard: {
      cpu: '1.5',
      memory: '1024Mi',
      'requests.cpu': 3000,
      'limits.cpu': '0.0001',
      'requests.storage': '5Gi',
    },
  },
});

async function must(args: string[], input?: string): Promise<string> {
  const r = await kubectl(h, args, input);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function revision(): Promise<bigint> {
  const r = await etcdctl(h, ['endpoint', 'status', '-w', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const m = /"revision":(\d+)/.exec(r.stdout);
  assert.ok(m, r.stdout);
  return BigInt(m[1]!);
}

/** The kubectl invocations whose live output the tests compare with (all read after the snapshot). */
const LIVE: Record<string, string[]> = {
  yamlMulti: ['get', 'cm', 'multi', '-n', 'shop', '-o', 'yaml'],
  yamlDeploy: ['get', 'deploy', 'web', '-n', 'shop', '-o', 'yaml'],
  yamlWidget: ['get', 'widget', 'w1', '-n', 'shop', '-o', 'yaml'],
  yamlList: ['get', 'cm', 'a', 'multi', '-n', 'shop', '-o', 'yaml'],
  jsonList: ['get', 'deploy,cm', '-n', 'shop', '-o', 'json'],
  jsonOne: ['get', 'cm/multi', '-n', 'shop', '-o', 'json'],
  namesAll: ['get', 'cm,secrets', '-A', '-o', 'name'],
  tables: ['get', 'deploy,cm', '-n', 'shop'],
  pairs: ['get', 'cm/a', 'deploy/web', 'cm/multi', '-n', 'shop'],
  wide: ['get', 'deploy', '-n', 'shop', '-o', 'wide'],
  crTable: ['get', 'wd', '-n', 'shop'],
  crWide: ['get', 'widgets.example.com', '-n', 'shop', '-o', 'wide'],
  quotas: ['get', 'quota', 'q0', 'q1', '-n', 'shop', '-o', 'json'],
  rawQuota: ['get', 'resourcequota/raw', '-n', 'shop', '-o', 'json'],
  fieldName: ['get', 'cm', '-A', '--field-selector', 'metadata.name=a', '-o', 'name'],
  fieldNs: ['get', 'cm', '-A', '--field-selector', 'metadata.namespace!=shop', '-o', 'name'],
};
const SELECTORS = ['app=web', 'app!=web', 'tier in (frontend,cache)', 'tier notin (frontend)', 'app', '!app'];

before(async () => {
  h = await Harness.start({
    etcdMembers: 1,
    apiserver: true,
    apiserverArgs: ['--etcd-compaction-interval=0', '--disable-admission-plugins=ServiceAccount'],
  });
  const file = join(dir, 'objects.yaml');
  writeFileSync(file, MANIFESTS);
  await must(['apply', '-f', file]);
  await must(['wait', '--for', 'condition=established', '--timeout=60s', 'crd/widgets.example.com']);
  await must(['apply', '-f', '-'], WIDGET);
  await must(['apply', '-f', '-'], QUOTAS);
  const put = await etcdctl(h, ['put', '/registry/resourcequotas/shop/raw', RAW_QUOTA]);
  assert.equal(put.code, 0, put.stderr);
  rev1 = await revision();
  // Between rev1 and rev2: a changed, b deleted, d created (for diff --from-rev/--to-rev).
  await must(['-n', 'shop', 'patch', 'cm', 'a', '--type=merge', '-p', '{"data":{"k":"v2"}}']);
  await must(['-n', 'shop', 'delete', 'cm', 'b']);
  await must(['-n', 'shop', 'create', 'cm', 'd', '--from-literal=k=new']);
  rev2 = await revision();
  const saved = await etcdctl(h, ['snapshot', 'save', snap]);
  assert.equal(saved.code, 0, saved.stderr);
  const snapRev = await revision();
  for (const [name, args] of Object.entries(LIVE)) live.set(name, await must(args));
  for (const s of SELECTORS)
    live.set(`-l ${s}`, await must(['get', 'cm', '-n', 'shop', '-l', s, '-o', 'name']));
  // Nothing the tests compare was written since the snapshot (kube-apiserver renews its own Leases every
  // 10 s; nothing else writes without a controller-manager): the live answers are the snapshot's.
  const keys = await etcdctl(h, ['get', '/registry/', '--prefix', '--keys-only', '-w', 'json']);
  assert.equal(keys.code, 0, keys.stderr);
  const kvs = (JSON.parse(keys.stdout) as { kvs: { key: string; mod_revision: number }[] }).kvs;
  const changed = kvs
    .filter((kv) => BigInt(kv.mod_revision) > snapRev)
    .map((kv) => Buffer.from(kv.key, 'base64').toString())
    .filter((k) => !k.startsWith('/registry/leases/'));
  assert.deepEqual(changed, [], 'objects changed while the expected outputs were read');
});
after(async () => {
  await h?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function lifeboat(args: string[]): Promise<string> {
  const r = await runCli([...args, '--from', snap]);
  assert.equal(r.code, 0, `lifeboat ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A kubectl table without its AGE column (AGE is measured from different clocks), cells split on 3+ spaces. */
function cellsWithoutAge(table: string): string[][] {
  const blocks = table.trimEnd().split('\n\n');
  return blocks.flatMap((b) => {
    const lines = b.split('\n').map((l) => l.split(/ {3,}/));
    const age = lines[0]!.indexOf('AGE');
    return [...lines.map((cells) => cells.filter((_, i) => i !== age)), ['--']];
  });
}

test('-o yaml is byte-identical to kubectl: ConfigMap with multi-line and YAML-1.1-looking data, Deployment, custom resource, List', async () => {
  for (const [name, args] of Object.entries(LIVE).filter(([n]) => n.startsWith('yaml'))) {
    const ours = await lifeboat(args);
    assert.equal(ours, live.get(name), `${name}: lifeboat ${args.join(' ')}`);
  }
  // The fixture really exercises the quoting rules.
  const y = live.get('yamlMulti')!;
  for (const frag of ['flag: "true"', 'mode: "0755"', 'version: "1.0"', "star: '*'", '"yes": "on"', '|2'])
    assert.ok(y.includes(frag), `${frag} not in kubectl's YAML:\n${y}`);
});

test('-o json: several types print one v1 List, a single TYPE/NAME prints the object, byte-identical to kubectl', async () => {
  const list = await lifeboat(LIVE.jsonList!);
  assert.equal(list, live.get('jsonList'));
  const doc = JSON.parse(list) as { apiVersion: string; kind: string; items: { kind: string }[] };
  assert.deepEqual([doc.apiVersion, doc.kind], ['v1', 'List']);
  assert.deepEqual([...new Set(doc.items.map((i) => i.kind))], ['Deployment', 'ConfigMap']);
  assert.equal(await lifeboat(LIVE.jsonOne!), live.get('jsonOne'));
});

test('several types: -o name across namespaces equals kubectl; tables per kind with a blank line between', async () => {
  const names = await lifeboat(LIVE.namesAll!);
  assert.equal(names, live.get('namesAll'));
  assert.match(names, /^configmap\/multi$/m);
  assert.match(names, /^secret\/s1$/m);
  for (const name of ['tables', 'pairs', 'crTable', 'crWide']) {
    const ours = await lifeboat(LIVE[name]!);
    assert.deepEqual(cellsWithoutAge(ours), cellsWithoutAge(live.get(name)!), `${name}:\n${ours}`);
  }
  const tables = await lifeboat(LIVE.tables!);
  assert.match(tables, /^NAME {2,}READY .*\ndeployment\.apps\/web .*\n\nNAME {2,}DATA {2,}AGE\n/);
});

test("-o wide adds kubectl's wide columns after AGE (Deployment: CONTAINERS, IMAGES, SELECTOR)", async () => {
  const ours = await lifeboat(LIVE.wide!);
  assert.deepEqual(cellsWithoutAge(ours), cellsWithoutAge(live.get('wide')!));
  assert.match(
    ours,
    /app,sidecar {3,}registry\.example\/web:1\.2,registry\.example\/proxy:0\.9 {3,}app=web,tier in \(edge,frontend\)/,
  );
});

test('label selectors (=, !=, in, notin, exists, !key) and field selectors select what kubectl selects', async () => {
  for (const s of SELECTORS) {
    const ours = await lifeboat(['get', 'cm', '-n', 'shop', '-l', s, '-o', 'name']);
    assert.equal(ours, live.get(`-l ${s}`), `-l '${s}'`);
  }
  assert.equal(live.get('-l app=web'), 'configmap/a\nconfigmap/multi\n');
  for (const name of ['fieldName', 'fieldNs']) {
    assert.equal(await lifeboat(LIVE[name]!), live.get(name), name);
  }
  assert.doesNotMatch(live.get('fieldNs')!, /multi/);
});

test('diff --from-rev/--to-rev lists what changed between two revisions of one snapshot', async () => {
  const r = await runCli([
    'diff',
    'cm',
    '-n',
    'shop',
    '--from',
    snap,
    '--from-rev',
    String(rev1),
    '--to-rev',
    String(rev2),
  ]);
  assert.equal(r.code, 0, r.stderr);
  const summary = r.stdout.split('\n').filter((l) => /^(added|removed|changed) /.test(l));
  assert.deepEqual(summary.map((l) => l.replace(/\s+\(revision.*$/, '').replace(/\s+/g, ' ')).sort(), [
    'added configmaps/shop/d',
    'changed configmaps/shop/a',
    'removed configmaps/shop/b',
  ]);
  assert.match(r.stdout, /^- {2}k: v1\n\+ {2}k: v2$/m);
  assert.match(r.stderr, new RegExp(`@${rev1} → .*@${rev2}: 1 added, 1 removed, 1 changed`));
  // The same revision on both sides: nothing.
  const same = await runCli([
    'diff',
    'cm',
    '--from',
    snap,
    '--from-rev',
    String(rev2),
    '--to-rev',
    String(rev2),
  ]);
  assert.equal(same.code, 0, same.stderr);
  assert.equal(same.stdout, '');
  // And get --rev reads the older state.
  assert.equal(
    await lifeboat(['get', 'cm', 'b', '-n', 'shop', '-o', 'name', '--rev', String(rev1)]),
    'configmap/b\n',
  );
});

test('errors are one line with kubectl-like wording: unknown resource (4), missing --from (2), not found (4)', async () => {
  const unknown = await runCli(['get', 'frobnicators', '--from', snap]);
  assert.equal(unknown.code, 4, unknown.stderr);
  assert.equal(unknown.stdout, '');
  assert.equal(unknown.stderr.trimEnd().split('\n').length, 1, unknown.stderr);
  assert.match(unknown.stderr, /resource type "frobnicators".*lifeboat api-resources --from /);
  const mixed = await runCli(['get', 'cm,frobnicators', '-n', 'shop', '--from', snap]);
  assert.equal(mixed.code, 4, mixed.stderr);
  assert.equal(mixed.stdout, '', 'nothing is printed when one of the types is unknown');
  const noFrom = await runCli(['get', 'cm']);
  assert.equal(noFrom.code, 2, noFrom.stderr);
  assert.equal(noFrom.stderr.trimEnd().split('\n').length, 1, noFrom.stderr);
  assert.match(noFrom.stderr, /--from/);
  const missing = await runCli(['get', 'cm', 'nope', '-n', 'shop', '--from', snap]);
  assert.equal(missing.code, 4, missing.stderr);
  assert.equal(missing.stdout, '');
  assert.equal(missing.stderr.trimEnd().split('\n').length, 1, missing.stderr);
  assert.match(missing.stderr, /NotFound\): configmaps "nope" in namespace "shop" not found in .*snap\.db/);
  // Found objects still print; the missing one is reported and the exit code says so.
  const some = await runCli(['get', 'cm/a', 'cm/nope', '-n', 'shop', '-o', 'name', '--from', snap]);
  assert.equal(some.code, 4, some.stderr);
  assert.equal(some.stdout, 'configmap/a\n');
  assert.match(some.stderr, /configmaps "nope"/);
});

test('quantities: the apiserver prints what canonicalQuantity() computes; a JSON-stored object prints as the apiserver serves it', async () => {
  const served = JSON.parse(live.get('quotas')!) as { items: { spec: { hard: Record<string, string> } }[] };
  let canonicalised = 0;
  for (const i of [0, 1]) {
    const input = quotaHard(i);
    for (const k of QUOTA_KEYS) {
      // ResourceQuota.spec.hard is a core/v1 ResourceList: defaulting rounds it up to milli-units.
      const want = canonicalQuantity(input[k]!, { roundUpMilli: true });
      assert.equal(served.items[i]!.spec.hard[k], want, `q${i} ${k}: ${input[k]}`);
      if (served.items[i]!.spec.hard[k] !== input[k]) canonicalised++;
    }
  }
  assert.ok(canonicalised >= 10, `only ${canonicalised} inputs were rewritten by the apiserver`);
  // Protobuf-stored: printed as stored, which is the apiserver's answer.
  assert.equal(await lifeboat(LIVE.quotas!), live.get('quotas'));
  // JSON-stored with non-canonical text: the apiserver canonicalises on read, and so does lifeboat.
  const raw = await lifeboat(LIVE.rawQuota!);
  assert.equal(raw, live.get('rawQuota'));
  const hard = (JSON.parse(raw) as { spec: { hard: Record<string, string> } }).spec.hard;
  assert.deepEqual(hard, {
    cpu: '1500m',
    'limits.cpu': '1m',
    memory: '1Gi',
    'requests.cpu': '3k',
    'requests.storage': '5Gi',
  });
});

test('listing reads the file once per listing, not once per object (a snapshot has no key index)', async () => {
  const opened = await openSnapshot(snap);
  try {
    const store = new KubeStore(opened.db, { etcdPrefix: '/registry' });
    const passes = (): number => opened.db.mvcc.passes;
    const count = (f: () => unknown): number => {
      const before = passes();
      f();
      return passes() - before;
    };
    const [cm] = store.resources.resolve('configmaps');
    const [leases] = store.resources.resolve('leases');
    let all: ObjectView[] = [];
    assert.equal(
      count(() => (all = store.list(cm!, undefined).views)),
      1,
    );
    assert.ok(all.length >= 5 && all.every((v) => v.object), `${all.length} ConfigMaps, all decoded`);
    let named: ReturnType<KubeStore['list']> = { views: [], missing: [] };
    assert.equal(
      count(() => (named = store.list(cm!, 'shop', { names: ['d', 'nope', 'a'] }))),
      1,
    );
    assert.deepEqual(
      named.views.map((v) => v.name),
      ['d', 'a'],
    );
    assert.deepEqual(named.missing, ['nope']);
    assert.ok([...store.keys(leases!)].length >= 1, 'the apiserver wrote a Lease');
    assert.equal(
      count(() => store.snapshotTime()),
      1,
    );
    // Every object of a type with its value: one pass, whatever the number of objects.
    assert.equal(
      count(() => [...store.objects(cm!)].map((kv) => store.view(kv, cm!))),
      1,
    );
  } finally {
    opened.close();
  }
});

test('dump prints every live object as get shows it, one per line (Secrets redacted, managedFields hidden unless asked); -o json is one List', async () => {
  const want = { shown: [] as string[], all: [] as string[], problems: 0 };
  const opened = await openSnapshot(snap);
  try {
    const store = new KubeStore(opened.db, { etcdPrefix: '/registry' });
    const prefix = Buffer.from('/registry/');
    const range = { key: prefix, rangeEnd: prefixRangeEnd(prefix), order: 'revision' as const };
    for (const kv of opened.db.mvcc.liveAt(store.revision, range)) {
      const v = store.view(kv);
      if (!v.object) {
        want.problems++;
        continue;
      }
      const o = withUnknownFields(v.object, v.unknownFields);
      want.shown.push(stringifyJson(present(o, {}), 0));
      want.all.push(stringifyJson(present(o, { showManagedFields: true, showSecrets: true }), 0));
    }
  } finally {
    opened.close();
  }
  assert.ok(want.shown.length > 50, `${want.shown.length} objects`);
  const secret = (lines: string[]): string =>
    lines.find((l) => l.includes('"kind":"Secret"') && l.includes('"name":"s1"'))!;
  const hidden = Buffer.from('not-shown').toString('base64');

  const r = await runCli(['dump', '--from', snap]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.deepEqual(lines, want.shown);
  assert.match(r.stderr, new RegExp(`: ${want.shown.length} objects under /registry/ at revision \\d+`));
  assert.ok(!r.stdout.includes('"managedFields"') && !r.stdout.includes(hidden));
  assert.match(secret(lines), /"password":"REDACTED\(sha256:[0-9a-f]{8}\)"/);

  const all = await runCli(['dump', '--from', snap, '--show-secrets', '--show-managed-fields']);
  assert.equal(all.code, 0, all.stderr);
  const allLines = all.stdout.trimEnd().split('\n');
  assert.deepEqual(allLines, want.all);
  assert.ok(secret(allLines).includes(`"password":"${hidden}"`) && all.stdout.includes('"managedFields"'));

  const list = await runCli(['dump', '--from', snap, '-o', 'json', '--prefix', '/registry/configmaps/']);
  assert.equal(list.code, 0, list.stderr);
  const doc = JSON.parse(list.stdout) as { kind: string; apiVersion: string; items: { kind: string }[] };
  assert.equal(doc.kind, 'List');
  assert.equal(doc.apiVersion, 'v1');
  assert.deepEqual(
    doc.items.map((i) => JSON.stringify(i)),
    want.shown.filter((l) => l.startsWith('{"kind":"ConfigMap"')).map((l) => JSON.stringify(JSON.parse(l))),
  );

  const bad = await runCli(['dump', '--from', snap, '-o', 'yaml']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  assert.match(bad.stderr, /-o: expected one of ndjson, json, got 'yaml'/);
});
