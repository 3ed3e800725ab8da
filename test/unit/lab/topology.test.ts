/** The lab's shape: defaults per topology, refused shapes, host names, numbers and components. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { networkPrefix, planHosts, resolveShape } from '../../../src/lab/topology.js';
import { UsageError } from '../../../src/util/errors.js';

test('defaults: stacked has 3 control planes with etcd on each; external 3 etcd + 2 control planes', () => {
  assert.deepEqual(resolveShape({}), { topology: 'stacked', etcd: 3, controlPlanes: 3, nodes: 3 });
  assert.deepEqual(resolveShape({ topology: 'external' }), {
    topology: 'external',
    etcd: 3,
    controlPlanes: 2,
    nodes: 3,
  });
});

test('refused shapes name the flag and what was expected', () => {
  assert.throws(
    () => resolveShape({ topology: 'ring' }),
    /--topology: expected stacked or external, got 'ring'/,
  );
  assert.throws(() => resolveShape({ topology: 'external', etcd: 2 }), UsageError);
  assert.throws(
    () => resolveShape({ etcd: 5, controlPlanes: 3 }),
    /one etcd member on every control-plane host/,
  );
  assert.throws(() => resolveShape({ nodes: 10 }), /--nodes: expected a whole number from 0 to 9/);
});

test('hosts: names, numbers in the /24 and components', () => {
  const ext = planHosts(resolveShape({ topology: 'external', nodes: 2 }));
  assert.deepEqual(
    ext.map((h) => [h.name, h.n, h.components.join(',')]),
    [
      ['etcd-1', 11, 'etcd'],
      ['etcd-2', 12, 'etcd'],
      ['etcd-3', 13, 'etcd'],
      ['cp-1', 21, 'kube-apiserver,kube-controller-manager,kube-scheduler'],
      ['cp-2', 22, 'kube-apiserver,kube-controller-manager,kube-scheduler'],
      ['worker-1', 31, 'kwok'],
      ['worker-2', 32, 'kwok'],
    ],
  );
  const st = planHosts(resolveShape({ controlPlanes: 1, etcd: 1, nodes: 0 }));
  assert.deepEqual(st, [
    {
      name: 'cp-1',
      n: 21,
      components: ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'],
    },
  ]);
});

test('network prefix: the loopback block itself, or 10.X.Y for namespaces', () => {
  assert.equal(networkPrefix('127.104.7', 'loopback'), '127.104.7');
  assert.equal(networkPrefix('127.104.7', 'netns'), '10.104.7');
});
