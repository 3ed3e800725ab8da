/* eslint-disable @typescript-eslint/no-explicit-any -- assertions reach into decoded JSON documents */
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import nacl from 'tweetnacl';
import { decryptValue, EncryptionConfig, EncryptionConfigError } from '../../../src/kube/encryption.js';
import { LAST_APPLIED, redactedMarker, redactSecret } from '../../../src/kube/redact.js';
import { ResourceMap } from '../../../src/kube/resources.js';

const k16 = randomBytes(16);
const k32 = randomBytes(32);
const sb = randomBytes(32);
const config = EncryptionConfig.parse(
  `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [secrets]
  providers:
  - aesgcm: {keys: [{name: g1, secret: ${k16.toString('base64')}}]}
  - aescbc: {keys: [{name: c1, secret: ${k32.toString('base64')}}]}
  - secretbox: {keys: [{name: s1, secret: ${sb.toString('base64')}}]}
  - kms: {apiVersion: v2, name: vault, endpoint: unix:///kms.sock}
  - identity: {}
`,
  'enc.yaml',
);
const key = '/registry/secrets/default/s';
const plain = Buffer.from('k8s\0 secret body');

function cbc(): Buffer {
  const iv = randomBytes(16);
  const c = createCipheriv('aes-256-cbc', k32, iv);
  return Buffer.concat([Buffer.from('k8s:enc:aescbc:v1:c1:'), iv, c.update(plain), c.final()]);
}
function gcm(aadKey: string): Buffer {
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-128-gcm', k16, nonce);
  c.setAAD(Buffer.from(aadKey));
  const ct = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([Buffer.from('k8s:enc:aesgcm:v1:g1:'), nonce, ct, c.getAuthTag()]);
}
function secretbox(): Buffer {
  const nonce = randomBytes(24);
  return Buffer.concat([
    Buffer.from('k8s:enc:secretbox:v1:s1:'),
    nonce,
    Buffer.from(nacl.secretbox(plain, nonce, sb)),
  ]);
}

test('aescbc, aesgcm and secretbox values decrypt with the configured keys; identity passes through', () => {
  for (const [v, provider] of [
    [cbc(), 'aescbc/v1'],
    [gcm(key), 'aesgcm/v1'],
    [secretbox(), 'secretbox/v1'],
  ] as const) {
    const r = decryptValue(v, key, config);
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.provider, provider);
    assert.deepEqual(r.ok && r.plaintext, plain);
  }
  const id = decryptValue(plain, key, config);
  assert.ok(id.ok && id.provider === 'identity');
});

test('failures are results with reasons: moved aesgcm value, wrong key, missing key, KMS', () => {
  const moved = decryptValue(gcm('/registry/secrets/other/s'), key, config);
  assert.ok(!moved.ok && /moved from another key/.test(moved.reason));
  const other = EncryptionConfig.parse(
    `kind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n  - aescbc: {keys: [{name: c1, secret: ${randomBytes(32).toString('base64')}}]}\n`,
    'other.yaml',
  );
  const wrong = decryptValue(cbc(), key, other);
  assert.ok(!wrong.ok && /does not decrypt it/.test(wrong.reason), JSON.stringify(wrong));
  const missing = decryptValue(secretbox(), key, EncryptionConfig.empty());
  assert.ok(!missing.ok && /no secretbox key named 's1'/.test(missing.reason));
  const kms = decryptValue(Buffer.from('k8s:enc:kms:v2:vault:\x0a\x01x'), key, config);
  assert.ok(!kms.ok && kms.provider === 'kms/v2' && kms.keyName === 'vault' && /KMS plugin/.test(kms.reason));
});

test('a bad encryption config is one clear error', () => {
  assert.throws(() => EncryptionConfig.parse('kind: Nope', 'x.yaml'), EncryptionConfigError);
  assert.throws(
    () =>
      EncryptionConfig.parse(
        'kind: EncryptionConfiguration\nresources:\n- providers:\n  - secretbox: {keys: [{name: a, secret: AAAA}]}\n',
        'x.yaml',
      ),
    /secretbox key 'a' is 3 bytes; expected 32/,
  );
});

test('Secret values are redacted, also inside last-applied-configuration', () => {
  const applied = JSON.stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 's' },
    stringData: { token: 'plain-text-token' },
  });
  const s = {
    kind: 'Secret',
    apiVersion: 'v1',
    metadata: { name: 's', annotations: { [LAST_APPLIED]: `${applied}\n` } },
    data: { token: Buffer.from('plain-text-token').toString('base64') },
  };
  const r = redactSecret(s);
  const text = JSON.stringify(r);
  assert.ok(!text.includes('plain-text-token') && !text.includes(s.data.token), text);
  const marker = redactedMarker(Buffer.from('plain-text-token'));
  assert.match(marker, /^REDACTED\(sha256:[0-9a-f]{8}\)$/);
  assert.equal((r.data as any).token, marker);
  assert.ok(text.includes(marker.replace(/[()]/g, (c) => c)));
  assert.equal(
    redactSecret({ kind: 'ConfigMap', apiVersion: 'v1', data: { a: 'b' } }).data && 'same',
    'same',
  );
});

test('storage keys map to resources and back, with the historic special cases and --etcd-prefix', () => {
  const m = new ResourceMap();
  assert.equal(m.parse('/registry/services/specs/default/kubernetes').resource?.resource, 'services');
  assert.equal(m.parse('/registry/services/endpoints/default/kubernetes').resource?.resource, 'endpoints');
  assert.equal(m.parse('/registry/minions/node-1').resource?.resource, 'nodes');
  assert.equal(m.parse('/registry/controllers/ns/rc').resource?.resource, 'replicationcontrollers');
  assert.equal(m.parse('/registry/ingress/ns/web').resource?.group, 'networking.k8s.io');
  const cr = m.parse('/registry/gateway.networking.k8s.io/gateways/ns/gw');
  assert.deepEqual(
    [cr.group, cr.resourceName, cr.namespace, cr.name],
    ['gateway.networking.k8s.io', 'gateways', 'ns', 'gw'],
  );
  assert.equal(m.parse('/registry/apiextensions.k8s.io/customresourcedefinitions/a.b.c').name, 'a.b.c');
  assert.ok(m.parse('compact_rev_key').notObject);
  const o = new ResourceMap('/kubernetes.io/');
  assert.equal(o.parse('/kubernetes.io/pods/ns/p').name, 'p');
  assert.equal(o.key(o.resolve('svc')[0]!, 'web', 'ns'), '/kubernetes.io/services/specs/ns/web');
  for (const [n, r] of [
    ['cm', 'configmaps'],
    ['deploy', 'deployments'],
    ['Deployment', 'deployments'],
    ['deployments.apps', 'deployments'],
    ['ns', 'namespaces'],
    ['ev', 'events'],
  ]) {
    assert.equal(m.resolve(n!)[0]?.resource, r, n);
  }
});

test('aescbc with a wrong key never passes as decrypted, even when the padding happens to check out', () => {
  const wrong = EncryptionConfig.parse(
    `kind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n  - aescbc: {keys: [{name: c1, secret: ${randomBytes(32).toString('base64')}}]}\n`,
    'wrong.yaml',
  );
  // About 1 in 256 wrong-key decryptions has valid PKCS#7 padding; 2,000 tries hit that several times, and
  // about one run in 30 also hits a plaintext that starts like JSON (whitespace, then `{`).
  for (let i = 0; i < 2000; i++) assert.equal(decryptValue(cbc(), key, wrong).ok, false);
});

test('aescbc: bytes that start like JSON but do not parse are a wrong key, not a decrypted value', () => {
  const secret = randomBytes(32);
  const config = EncryptionConfig.parse(
    `kind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n  - aescbc: {keys: [{name: c1, secret: ${secret.toString('base64')}}]}\n`,
    'c1.yaml',
  );
  const seal = (p: Buffer) => {
    const iv = randomBytes(16);
    const c = createCipheriv('aes-256-cbc', secret, iv);
    return Buffer.concat([Buffer.from('k8s:enc:aescbc:v1:c1:'), iv, c.update(p), c.final()]);
  };
  // What a wrong key yields now and then: whitespace and `{`, then noise.
  const noise = Buffer.concat([Buffer.from(' \n{'), Buffer.from([0x9f, 0x00, 0xc3, 0x28, 0xff])]);
  const r = decryptValue(seal(noise), key, config);
  assert.equal(r.ok, false);
  const good = decryptValue(seal(Buffer.from('{"kind":"Secret","apiVersion":"v1"}\n')), key, config);
  assert.equal(good.ok, true);
});
