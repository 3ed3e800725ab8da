/**
 * Seed 004's story against a real kube-apiserver: an operator deletes a ConfigMap after a backup; `lifeboat
 * get --from` the snapshot returns it exactly as the apiserver served it, `diff` lists it as removed, and
 * a Secret applied with `kubectl apply` shows no plaintext in `get -o yaml` without --show-secrets.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { parseLosslessJson } from '../../../src/kube/json-value.js';
import { Harness } from '../../../src/lab/harness.js';
import { runCli } from '../../helpers/cli.js';
import { etcdctl } from '../../helpers/etcdctl.js';
import { kubectl } from './corpus.js';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-seed004-'));
const before1 = join(dir, 'before.db');
const after1 = join(dir, 'after.db');
let h: Harness;
let servedCm: unknown;

before(async () => {
  h = await Harness.start({
    etcdMembers: 1,
    apiserver: true,
    apiserverArgs: ['--etcd-compaction-interval=0'],
  });
  assert.equal((await kubectl(h, ['create', 'namespace', 'shop'])).code, 0);
  const cm = await kubectl(h, [
    '-n',
    'shop',
    'create',
    'configmap',
    'checkout',
    '--from-literal=currency=EUR',
    '--from-literal=retries=3',
  ]);
  assert.equal(cm.code, 0, cm.stderr);
  assert.equal((await kubectl(h, ['-n', 'shop', 'label', 'cm', 'checkout', 'app=checkout'])).code, 0);
  const manifest = join(dir, 'secret.yaml');
  writeFileSync(
    manifest,
    'apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: shop}\nstringData: {password: hunter2-plaintext}\n',
  );
  const ap = await kubectl(h, ['apply', '-f', manifest]);
  assert.equal(ap.code, 0, ap.stderr);
  const served = await kubectl(h, [
    '-n',
    'shop',
    'get',
    'cm',
    'checkout',
    '-o',
    'json',
    '--show-managed-fields',
  ]);
  servedCm = parseLosslessJson(served.stdout);
  assert.equal((await etcdctl(h, ['snapshot', 'save', before1])).code, 0);
  assert.equal((await kubectl(h, ['-n', 'shop', 'delete', 'cm', 'checkout'])).code, 0);
  assert.equal((await etcdctl(h, ['snapshot', 'save', after1])).code, 0);
});
after(async () => {
  await h?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('get --from the earlier snapshot returns the deleted ConfigMap exactly as kubectl showed it', async () => {
  const r = await runCli([
    'get',
    'cm',
    'checkout',
    '-n',
    'shop',
    '-o',
    'json',
    '--show-managed-fields',
    '--from',
    before1,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(parseLosslessJson(r.stdout), servedCm);
  const gone = await runCli(['get', 'configmap', 'checkout', '-n', 'shop', '--from', after1]);
  assert.equal(gone.code, 4, gone.stderr);
  assert.match(gone.stderr, /checkout/);
  const table = await runCli(['get', 'cm', '-n', 'shop', '-l', 'app=checkout', '--from', before1]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^NAME\s+DATA\s+AGE\ncheckout\s+2\s+\S+\n$/);
});

test('the later snapshot still lists the ConfigMap with --deleted, and history shows who changed it', async () => {
  const r = await runCli([
    'get',
    'cm',
    '-n',
    'shop',
    '--deleted',
    '-o',
    'json',
    '--show-managed-fields',
    '--from',
    after1,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const list = parseLosslessJson(r.stdout) as {
    items: { metadata: { name: string; annotations: Record<string, string> } }[];
  };
  assert.deepEqual(
    list.items.map((i) => i.metadata.name),
    ['checkout'],
  );
  assert.match(list.items[0]!.metadata.annotations['lifeboat.io/deleted-at-revision']!, /^\d+$/);
  const h2 = await runCli(['history', 'cm', 'checkout', '-n', 'shop', '--from', after1]);
  assert.equal(h2.code, 0, h2.stderr);
  assert.match(h2.stdout, /^--- revision \d+ \(version 1\): created by kubectl-create \(Update/m);
  assert.match(h2.stdout, /^--- revision \d+ \(version 2\): changed by kubectl-label \(Update/m);
  assert.match(h2.stdout, /^\+ {2}labels:\n\+ {4}app: checkout$/m);
  assert.match(h2.stdout, /^--- revision \d+: deleted$/m);
});

test('api-resources lists stored resources with counts, versions and encodings; -o name lists keys only', async () => {
  const r = await runCli(['api-resources', '-o', 'json', '--from', before1]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as {
    kind: string;
    resources: {
      name: string;
      group: string;
      objects: number;
      storedVersions: string[];
      encodings: string[];
    }[];
  };
  assert.equal(doc.kind, 'APIResourceList');
  const cm = doc.resources.find((x) => x.name === 'configmaps' && x.group === '')!;
  assert.ok(cm.objects >= 2, JSON.stringify(cm));
  assert.deepEqual([cm.storedVersions, cm.encodings], [['v1'], ['protobuf']]);
  const apis = doc.resources.find((x) => x.name === 'apiservices')!;
  assert.deepEqual([apis.storedVersions, apis.encodings], [['apiregistration.k8s.io/v1'], ['json']]);
  const names = await runCli(['get', 'cm', '-n', 'shop', '-o', 'name', '--from', before1]);
  assert.equal(names.code, 0, names.stderr);
  assert.match(names.stdout, /^configmap\/checkout$/m);
});

test('diff lists the ConfigMap as removed', async () => {
  const r = await runCli(['diff', '--from', before1, '--to', after1, '-n', 'shop']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^removed\s+configmaps\/shop\/checkout/m);
  assert.doesNotMatch(r.stdout, /^(added|changed)\s/m);
});

test('a Secret applied with kubectl shows no plaintext anywhere without --show-secrets', async () => {
  const r = await runCli(['get', 'secret', 'db', '-n', 'shop', '-o', 'yaml', '--from', before1]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stdout.includes('hunter2'), r.stdout);
  assert.ok(!r.stdout.includes(Buffer.from('hunter2-plaintext').toString('base64')), r.stdout);
  const doc = parseYaml(r.stdout) as {
    data: Record<string, string>;
    metadata: { annotations: Record<string, string> };
  };
  assert.match(doc.data.password!, /^REDACTED\(sha256:[0-9a-f]{8}\)$/);
  assert.match(
    doc.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']!,
    /REDACTED\(sha256:/,
  );
  const shown = await runCli([
    'get',
    'secret',
    'db',
    '-n',
    'shop',
    '-o',
    'json',
    '--show-secrets',
    '--from',
    before1,
  ]);
  assert.equal(shown.code, 0, shown.stderr);
  assert.ok(shown.stdout.includes(Buffer.from('hunter2-plaintext').toString('base64')));
});
