import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDuration, resolveConnection } from '../../../src/etcd-client/flags.js';
import { UsageError } from '../../../src/util/errors.js';

test('Go-style durations', () => {
  assert.equal(parseDuration('5s'), 5000);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('24h'), 86_400_000);
  assert.equal(parseDuration('3'), 3000);
  assert.throws(() => parseDuration('5 s'), UsageError);
  assert.throws(() => parseDuration(''), UsageError);
});

test('flags win over ETCDCTL_* variables, which win over defaults', () => {
  const env = { ETCDCTL_ENDPOINTS: 'e1:2379,e2:2379', ETCDCTL_CACERT: '/ca', ETCDCTL_DIAL_TIMEOUT: '2s' };
  const fromEnv = resolveConnection({}, env);
  assert.deepEqual(fromEnv.endpoints, ['https://e1:2379', 'https://e2:2379']);
  assert.equal(fromEnv.dialTimeoutMs, 2000);
  assert.equal(fromEnv.commandTimeoutMs, 5000);
  const fromFlags = resolveConnection({ endpoints: 'http://x:1', dialTimeout: '1s' }, env);
  assert.deepEqual(fromFlags.endpoints, ['http://x:1']);
  assert.equal(fromFlags.dialTimeoutMs, 1000);
  const defaults = resolveConnection({}, {});
  assert.deepEqual(defaults.endpoints, ['http://127.0.0.1:2379']);
  assert.equal(defaults.dialTimeoutMs, 5000);
});

test('--cert without --key and odd schemes are usage errors', () => {
  assert.throws(() => resolveConnection({ cert: '/c' }, {}), /--cert and --key must be given together/);
  assert.throws(() => resolveConnection({ endpoints: 'unix://sock' }, {}), UsageError);
});
