import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { encryptionFromRkeState } from '../../../src/kube/encryption.js';
import {
  humanAge,
  jsonPath,
  matchesSelector,
  nameOf,
  parseFieldSelector,
  parseSelector,
  renderDocument,
  renderTable,
} from '../../../src/kube/present.js';
import { BUILTIN_RESOURCES } from '../../../src/kube/resources.js';

test('label selectors: equality, inequality, set and existence requirements', () => {
  const labels = { app: 'web', tier: 'frontend' };
  assert.ok(matchesSelector(labels, parseSelector('app=web')));
  assert.ok(matchesSelector(labels, parseSelector('app==web,tier!=backend')));
  assert.ok(matchesSelector(labels, parseSelector('tier in (frontend, edge)')));
  assert.ok(!matchesSelector(labels, parseSelector('tier notin (frontend)')));
  assert.ok(matchesSelector(labels, parseSelector('app,!missing')));
  assert.ok(!matchesSelector(labels, parseSelector('missing')));
  assert.throws(() => parseSelector('a b c'), /cannot parse selector/);
  const f = parseFieldSelector('metadata.name=a,metadata.namespace!=kube-system');
  assert.ok(f({ metadata: { name: 'a', namespace: 'x' } }));
  assert.ok(!f({ metadata: { name: 'a', namespace: 'kube-system' } }));
});

test('ages, names, JSONPath and tables read like kubectl', () => {
  const now = new Date('2024-01-10T00:00:00Z');
  assert.equal(humanAge(new Date('2024-01-09T23:59:30Z'), now), '30s');
  assert.equal(humanAge(new Date('2024-01-09T23:55:00Z'), now), '5m');
  assert.equal(humanAge(new Date('2024-01-09T20:00:00Z'), now), '4h');
  assert.equal(humanAge(new Date('2024-01-07T00:00:00Z'), now), '3d');
  const deploy = BUILTIN_RESOURCES.find((r) => r.resource === 'deployments')!;
  const o = {
    kind: 'Deployment',
    apiVersion: 'apps/v1',
    metadata: { name: 'web', namespace: 'p', creationTimestamp: '2024-01-09T00:00:00Z' },
    spec: { replicas: 3, template: { spec: { containers: [{ image: 'a' }, { image: 'b' }] } } },
    status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
  };
  assert.equal(nameOf(deploy, o), 'deployment.apps/web');
  assert.deepEqual(jsonPath(o, '.spec.template.spec.containers[*].image'), ['a', 'b']);
  assert.equal(
    renderTable([{ resource: deploy, object: o }], { allNamespaces: true, wide: false, now }),
    'NAMESPACE   NAME   READY   UP-TO-DATE   AVAILABLE   AGE\np           web    2/3     3            2           24h\n',
  );
  const list = JSON.parse(renderDocument([o, o], 'json', true)) as { kind: string; items: unknown[] };
  assert.equal(list.kind, 'List');
  assert.equal(list.items.length, 2);
  assert.match(renderDocument([o], 'yaml', false), /^apiVersion: apps\/v1\nkind: Deployment\n/);
});

test('an RKE1 .rkestate inside a snapshot zip supplies the encryption configuration', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-rke-'));
  try {
    const cfg =
      'apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n' +
      `  - aescbc: {keys: [{name: key1, secret: ${Buffer.alloc(32, 7).toString('base64')}}]}\n  - identity: {}\n`;
    writeFileSync(join(dir, 'cluster.rkestate'), JSON.stringify({ currentState: { encryptionConfig: cfg } }));
    writeFileSync(join(dir, 'snapshot'), 'x');
    execFileSync('zip', ['-q', join(dir, 's.zip'), 'cluster.rkestate', 'snapshot'], { cwd: dir });
    const c = await encryptionFromRkeState(join(dir, 's.zip'), 'cluster.rkestate');
    assert.deepEqual(
      c?.keys.map((k) => [k.provider, k.name]),
      [['aescbc', 'key1']],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
