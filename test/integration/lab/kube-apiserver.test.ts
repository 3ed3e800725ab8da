/**
 * A real kube-apiserver from the harness answers `kubectl get ns`, reports its real version, and stores a
 * ConfigMap created through it under /registry/configmaps/<ns>/<name> in etcd.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { Harness } from '../../../src/lab/harness.js';
import { versionPins } from '../../../src/lab/binaries.js';
import { etcdctl } from '../../helpers/etcdctl.js';

let h: Harness;
before(async () => {
  h = await Harness.start({ etcdMembers: 1, apiserver: true });
});
after(async () => {
  await h?.stop();
});

function kubectl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const api = h.apiserver!;
  return new Promise((resolve) =>
    execFile(
      api.binaries.kubectl,
      ['--kubeconfig', api.kubeconfig, ...args],
      { timeout: 60000 },
      (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }),
    ),
  );
}

test('kubectl get ns answers through the generated kubeconfig', async () => {
  const r = await kubectl(['get', 'ns', '-o', 'name']);
  assert.equal(r.code, 0, r.stderr);
  for (const ns of ['namespace/default', 'namespace/kube-system']) assert.ok(r.stdout.includes(ns), r.stdout);
});

test('/version reports the pinned, stamped Kubernetes version', async () => {
  const r = await kubectl(['get', '--raw', '/version']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { gitVersion: string }).gitVersion, versionPins().KUBERNETES_VERSION);
});

test('a ConfigMap created through the API is stored in etcd under /registry/configmaps/<ns>/<name>', async () => {
  assert.equal((await kubectl(['create', 'namespace', 'drill'])).code, 0);
  const c = await kubectl(['-n', 'drill', 'create', 'configmap', 'app-config', '--from-literal=mode=blue']);
  assert.equal(c.code, 0, c.stderr);
  const r = await etcdctl(h, ['get', '/registry/configmaps/drill/app-config', '-w', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const kvs = (JSON.parse(r.stdout) as { kvs?: Array<{ key: string; value: string }> }).kvs ?? [];
  assert.equal(kvs.length, 1);
  const value = Buffer.from(kvs[0]!.value, 'base64');
  assert.equal(value.subarray(0, 4).toString('latin1'), 'k8s\u0000', 'stored as protobuf');
  assert.ok(value.includes(Buffer.from('blue')), 'the data value is in the stored object');
});
