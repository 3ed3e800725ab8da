/**
 * Encryption at rest with a real kube-apiserver: Secrets written under aescbc, then (after the apiserver
 * reloads its EncryptionConfiguration) aesgcm, then secretbox, leave mixed prefixes in etcd. Lifeboat
 * decrypts every one with the config file and each equals the apiserver's JSON at the same revision; with
 * the wrong keys every Secret is reported with a reason, and nothing fails as a whole.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { decodeObject } from '../../../src/kube/decode.js';
import { decryptValue, EncryptionConfig, encryptionPrefix } from '../../../src/kube/encryption.js';
import { Harness } from '../../../src/lab/harness.js';
import { etcdctl } from '../../helpers/etcdctl.js';
import { compareWithApiserver, formatCoverage, parseEtcdctlJson, type Kv } from './compare.js';
import { kubectl } from './corpus.js';
import { runCli } from '../../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-enc-'));
const configFile = join(dir, 'encryption.yaml');
const snapshotFile = join(dir, 'snap.db');
const keys = { cbc: randomBytes(32), gcm: randomBytes(32), box: randomBytes(32) };
const providers = {
  cbc: `  - aescbc: {keys: [{name: cbc1, secret: ${keys.cbc.toString('base64')}}]}\n`,
  gcm: `  - aesgcm: {keys: [{name: gcm1, secret: ${keys.gcm.toString('base64')}}]}\n`,
  box: `  - secretbox: {keys: [{name: box1, secret: ${keys.box.toString('base64')}}]}\n`,
};
function config(order: (keyof typeof providers)[]): string {
  return (
    'apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n' +
    order.map((p) => providers[p]).join('') +
    '  - identity: {}\n'
  );
}

let h: Harness;
let kvs: Kv[];
let revision: bigint;

async function secretPrefixes(): Promise<string[]> {
  const r = await etcdctl(h, ['get', '/registry/secrets/enc/', '--prefix', '-w', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return parseEtcdctlJson(r.stdout).map((kv) => {
    const p = encryptionPrefix(kv.value);
    return p ? `${p.provider}:${p.name}` : 'identity';
  });
}

async function createSecrets(tag: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await kubectl(h, [
      '-n',
      'enc',
      'create',
      'secret',
      'generic',
      `${tag}-${i}`,
      `--from-literal=k=${tag}-${i}`,
      `--from-literal=bin=${randomBytes(8).toString('hex')}`,
    ]);
    assert.equal(r.code, 0, r.stderr);
  }
}

/** Writes a new provider order and waits until the apiserver writes with the new first provider. */
async function rotate(order: (keyof typeof providers)[], tag: string, expected: string): Promise<void> {
  writeFileSync(configFile, config(order));
  for (let attempt = 0; attempt < 90; attempt++) {
    const probe = `${tag}-probe-${attempt}`;
    const r = await kubectl(h, ['-n', 'enc', 'create', 'secret', 'generic', probe, '--from-literal=p=1']);
    assert.equal(r.code, 0, r.stderr);
    const v = await etcdctl(h, ['get', `/registry/secrets/enc/${probe}`, '--print-value-only']);
    if (v.stdout.startsWith(`k8s:enc:${expected}`)) return;
    await new Promise((res) => setTimeout(res, 2000));
  }
  assert.fail(`the apiserver did not reload the encryption config to ${expected}`);
}

before(async () => {
  writeFileSync(configFile, config(['cbc', 'gcm', 'box']));
  h = await Harness.start({
    etcdMembers: 1,
    apiserver: true,
    apiserverArgs: [
      '--etcd-compaction-interval=0',
      `--encryption-provider-config=${configFile}`,
      '--encryption-provider-config-automatic-reload=true',
    ],
  });
  assert.equal((await kubectl(h, ['create', 'namespace', 'enc'])).code, 0);
  await createSecrets('cbc', 3);
  await rotate(['gcm', 'cbc', 'box'], 'gcm', 'aesgcm:v1:gcm1:');
  await createSecrets('gcm', 3);
  await rotate(['box', 'gcm', 'cbc'], 'box', 'secretbox:v1:box1:');
  await createSecrets('box', 3);
  const st = await etcdctl(h, ['endpoint', 'status', '-w', 'json']);
  revision = BigInt(
    (JSON.parse(st.stdout) as Array<{ Status: { header: { revision: number } } }>)[0]!.Status.header.revision,
  );
  const r = await etcdctl(h, [
    'get',
    '/registry/secrets/',
    '--prefix',
    '--rev',
    String(revision),
    '-w',
    'json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  kvs = parseEtcdctlJson(r.stdout);
  const saved = await etcdctl(h, ['snapshot', 'save', snapshotFile]);
  assert.equal(saved.code, 0, saved.stderr);
});
after(async () => {
  await h?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('the store holds mixed aescbc, aesgcm and secretbox prefixes', async () => {
  const seen = new Set(await secretPrefixes());
  for (const p of ['aescbc:cbc1', 'aesgcm:gcm1', 'secretbox:box1'])
    assert.ok(seen.has(p), `no ${p} value: ${[...seen].join(' ')}`);
});

test('every Secret decrypts and equals the apiserver JSON at the same revision', async (t) => {
  const cfg = EncryptionConfig.load(configFile);
  const used = new Map<string, number>();
  const cov = await compareWithApiserver({
    kvs,
    revision,
    getRaw: async (path) => {
      const r = await kubectl(h, ['get', '--raw', path]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    },
    decode: (kv) => {
      const d = decryptValue(kv.value, kv.key, cfg);
      if (!d.ok) throw new Error(d.reason);
      used.set(d.provider, (used.get(d.provider) ?? 0) + 1);
      return decodeObject(d.plaintext, { key: kv.key, modRevision: kv.modRevision }).object;
    },
  });
  const report = `${formatCoverage(cov)}\n  decrypted by: ${[...used].map(([p, n]) => `${p} ${n}`).join(', ')}`;
  t.diagnostic(report);
  assert.deepEqual(cov.mismatches, [], report);
  assert.deepEqual(cov.missing, [], report);
  assert.ok(cov.objects >= 9, report);
  for (const p of ['aescbc/v1', 'aesgcm/v1', 'secretbox/v1']) assert.ok((used.get(p) ?? 0) >= 3, report);
});

test('with the wrong keys every encrypted Secret is listed with a reason, none throws', () => {
  const wrong = EncryptionConfig.parse(
    config(['cbc', 'gcm', 'box'])
      .replace(keys.cbc.toString('base64'), randomBytes(32).toString('base64'))
      .replace(keys.gcm.toString('base64'), randomBytes(32).toString('base64'))
      .replace(keys.box.toString('base64'), randomBytes(32).toString('base64')),
    'wrong.yaml',
  );
  const encrypted = kvs.filter((kv) => encryptionPrefix(kv.value));
  assert.ok(encrypted.length >= 9);
  for (const kv of encrypted) {
    const r = decryptValue(kv.value, kv.key, wrong);
    assert.equal(r.ok, false, kv.key);
    assert.ok(!r.ok && /does not decrypt it/.test(r.reason), kv.key);
  }
});

test('lifeboat get secrets decrypts with --encryption-config, and reports each one it cannot decrypt', async () => {
  const ok = await runCli([
    'get',
    'secrets',
    '-n',
    'enc',
    '-o',
    'json',
    '--show-secrets',
    '--encryption-config',
    configFile,
    '--from',
    snapshotFile,
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  const items = (
    JSON.parse(ok.stdout) as { items: { metadata: { name: string }; data: Record<string, string> }[] }
  ).items;
  const cbc0 = items.find((i) => i.metadata.name === 'cbc-0');
  assert.equal(Buffer.from(cbc0!.data.k!, 'base64').toString(), 'cbc-0');
  assert.ok(items.length >= 9);
  const without = await runCli([
    'get',
    'secrets',
    '-n',
    'enc',
    '-o',
    'name',
    '-l',
    'x!=y',
    '--from',
    snapshotFile,
  ]);
  assert.equal(without.code, 0, without.stderr);
  const reasons = without.stderr.split('\n').filter((l) => /^lifeboat: \/registry\/secrets\/enc\//.test(l));
  assert.equal(reasons.length, items.length, without.stderr);
  for (const l of reasons) assert.match(l, /no (aescbc|aesgcm|secretbox) key named/);
});

test('lifeboat dump decrypts with --encryption-config, and warns for each value it cannot decrypt', async () => {
  const prefix = ['--prefix', '/registry/secrets/enc/', '--from', snapshotFile];
  const ok = await runCli(['dump', '--show-secrets', '--encryption-config', configFile, ...prefix]);
  assert.equal(ok.code, 0, ok.stderr);
  const items = ok.stdout
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { metadata: { name: string }; data: Record<string, string> });
  assert.ok(items.length >= 9, ok.stdout);
  // Probe Secrets (written while switching providers) hold p=1; the others hold their own name.
  for (const i of items)
    assert.equal(
      Buffer.from(i.data.k ?? '', 'base64').toString() || i.data.p,
      i.data.k ? i.metadata.name : 'MQ==',
    );
  const without = await runCli(['dump', ...prefix]);
  assert.equal(without.code, 0, without.stderr);
  assert.equal(without.stdout, '');
  const reasons = without.stderr
    .split('\n')
    .filter((l) => /^lifeboat: warning: \/registry\/secrets\/enc\//.test(l));
  assert.equal(reasons.length, items.length, without.stderr);
  for (const l of reasons) assert.match(l, /no (aescbc|aesgcm|secretbox) key named/);
  assert.match(without.stderr, new RegExp(`: 0 objects under .*; ${items.length} could not be shown`));
});
