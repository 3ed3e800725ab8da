/**
 * Encryption at rest, offline: kube-apiserver's EncryptionConfiguration keys decrypt `k8s:enc:aescbc:v1:`,
 * `k8s:enc:aesgcm:v1:` and `k8s:enc:secretbox:v1:` values of any resource (formats.md §9). Every supplied
 * key whose provider and name match the value's prefix is tried, in config order, as the apiserver does.
 * KMS values (`k8s:enc:kms:v1:` / `v2:`) need the KMS plugin and are reported, not decrypted. Failing to
 * decrypt one value is a result, never an exception.
 */
import { createDecipheriv, type CipherGCMTypes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import nacl from 'tweetnacl';
import yauzl from 'yauzl';
import { parse as parseYaml } from 'yaml';
import { CorruptInputError, NotFoundError } from '../util/errors.js';
import { storageEncoding } from './decode.js';

export type KeyProvider = 'aescbc' | 'aesgcm' | 'secretbox';

export interface EncryptionKey {
  provider: KeyProvider;
  name: string;
  secret: Buffer;
  /** The resources the config applies the key to (informational; any resource is tried). */
  resources: string[];
}

export interface KmsProviderConfig {
  apiVersion: 'v1' | 'v2';
  name: string;
  endpoint?: string;
}

export type DecryptResult =
  | { ok: true; plaintext: Buffer; provider: string; keyName: string }
  | { ok: false; provider: string; keyName: string; reason: string };

const KEY_PROVIDERS: KeyProvider[] = ['aescbc', 'aesgcm', 'secretbox'];

/** A problem in the EncryptionConfiguration file. */
export class EncryptionConfigError extends CorruptInputError {}

export class EncryptionConfig {
  constructor(
    readonly keys: EncryptionKey[],
    readonly kms: KmsProviderConfig[],
    readonly source: string,
  ) {}

  static empty(): EncryptionConfig {
    return new EncryptionConfig([], [], '(none)');
  }

  static load(file: string): EncryptionConfig {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      throw new NotFoundError('encryption config', file);
    }
    return EncryptionConfig.parse(text, file);
  }

  /** Parses an apiserver.config.k8s.io EncryptionConfiguration (YAML or JSON). */
  static parse(text: string, file: string): EncryptionConfig {
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch (e) {
      throw new EncryptionConfigError(file, `not YAML/JSON: ${(e as Error).message.split('\n')[0]}`);
    }
    const d = doc as { kind?: string; resources?: unknown };
    if (!d || typeof d !== 'object' || d.kind !== 'EncryptionConfiguration' || !Array.isArray(d.resources)) {
      throw new EncryptionConfigError(file, 'expected kind: EncryptionConfiguration with a resources list');
    }
    const keys: EncryptionKey[] = [];
    const kms: KmsProviderConfig[] = [];
    d.resources.forEach((r: unknown, i: number) => {
      const rr = r as { resources?: string[]; providers?: unknown[] };
      const resources = Array.isArray(rr?.resources) ? rr.resources.map(String) : [];
      (rr?.providers ?? []).forEach((p: unknown, j: number) => {
        const where = `resources[${i}].providers[${j}]`;
        const pp = p as Record<
          string,
          {
            keys?: { name?: string; secret?: string }[];
            name?: string;
            apiVersion?: string;
            endpoint?: string;
          }
        >;
        for (const provider of KEY_PROVIDERS) {
          const cfg = pp?.[provider];
          if (!cfg) continue;
          for (const [k, key] of (cfg.keys ?? []).entries()) {
            if (!key?.name || typeof key.secret !== 'string') {
              throw new EncryptionConfigError(
                file,
                `${where}.${provider}.keys[${k}] needs name and secret`,
                where,
              );
            }
            const secret = Buffer.from(key.secret, 'base64');
            const okLen =
              provider === 'secretbox' ? secret.length === 32 : [16, 24, 32].includes(secret.length);
            if (!okLen) {
              throw new EncryptionConfigError(
                file,
                `${provider} key '${key.name}' is ${secret.length} bytes; expected ${provider === 'secretbox' ? '32' : '16, 24 or 32'}`,
                where,
              );
            }
            keys.push({ provider, name: key.name, secret, resources });
          }
        }
        if (pp?.kms) {
          const entry: KmsProviderConfig = {
            apiVersion: pp.kms.apiVersion === 'v2' ? 'v2' : 'v1',
            name: String(pp.kms.name ?? ''),
          };
          if (pp.kms.endpoint) entry.endpoint = String(pp.kms.endpoint);
          kms.push(entry);
        }
      });
    });
    return new EncryptionConfig(keys, kms, file);
  }
}

const PREFIX = /^k8s:enc:([a-z0-9]+):(v[0-9]+):/;

/** The provider, version and key/provider name of an encrypted value, or undefined for plaintext. */
export function encryptionPrefix(
  value: Uint8Array,
): { provider: string; version: string; name: string; dataOffset: number } | undefined {
  const head = Buffer.from(value.subarray(0, Math.min(value.length, 300))).toString('latin1');
  const m = PREFIX.exec(head);
  if (!m) return undefined;
  const rest = head.slice(m[0].length);
  const colon = rest.indexOf(':');
  if (colon < 0) return { provider: m[1]!, version: m[2]!, name: '', dataOffset: m[0].length };
  return { provider: m[1]!, version: m[2]!, name: rest.slice(0, colon), dataOffset: m[0].length + colon + 1 };
}

function aesAlgo(mode: 'cbc' | 'gcm', key: Buffer): string {
  return `aes-${key.length * 8}-${mode}`;
}

function parsesAsJson(b: Buffer): boolean {
  try {
    JSON.parse(b.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

function tryKey(key: EncryptionKey, data: Buffer, etcdKey: string): Buffer {
  switch (key.provider) {
    case 'aescbc': {
      if (data.length < 32 || data.length % 16 !== 0)
        throw new Error('ciphertext is not IV + whole AES blocks');
      const d = createDecipheriv(aesAlgo('cbc', key.secret), key.secret, data.subarray(0, 16));
      const plain = Buffer.concat([d.update(data.subarray(16)), d.final()]);
      // CBC is unauthenticated: a wrong key passes the padding check about once in 256 tries. A real
      // plaintext is a storage value (protobuf, JSON or CBOR); anything else means the key is wrong. JSON's
      // mark is one `{` (after any whitespace), which random bytes show about once in 250: it must parse too.
      const enc = storageEncoding(plain);
      if (enc === 'other' || enc === 'encrypted' || (enc === 'json' && !parsesAsJson(plain))) {
        throw new Error('decrypts to bytes that are not a Kubernetes storage value');
      }
      return plain;
    }
    case 'aesgcm': {
      if (data.length < 12 + 16) throw new Error('ciphertext shorter than nonce + tag');
      const d = createDecipheriv(
        aesAlgo('gcm', key.secret) as CipherGCMTypes,
        key.secret,
        data.subarray(0, 12),
      );
      d.setAAD(Buffer.from(etcdKey, 'utf8'));
      d.setAuthTag(data.subarray(data.length - 16));
      return Buffer.concat([d.update(data.subarray(12, data.length - 16)), d.final()]);
    }
    case 'secretbox': {
      if (data.length < 24 + nacl.secretbox.overheadLength)
        throw new Error('ciphertext shorter than nonce + MAC');
      const out = nacl.secretbox.open(data.subarray(24), data.subarray(0, 24), key.secret);
      if (!out) throw new Error('authentication failed');
      return Buffer.from(out);
    }
  }
}

/**
 * Decrypts one value stored under `etcdKey` (the full key: aesgcm authenticates it). Values without a
 * `k8s:enc:` prefix are returned unchanged as provider `identity`.
 */
export function decryptValue(value: Buffer, etcdKey: string, config: EncryptionConfig): DecryptResult {
  const p = encryptionPrefix(value);
  if (!p) return { ok: true, plaintext: value, provider: 'identity', keyName: '' };
  const provider = `${p.provider}/${p.version}`;
  if (p.provider === 'kms') {
    const known = config.kms.find((k) => k.name === p.name);
    return {
      ok: false,
      provider: `kms/${p.version}`,
      keyName: p.name,
      reason: `encrypted by KMS ${p.version} provider '${p.name}'${known?.endpoint ? ` (${known.endpoint})` : ''}: needs the KMS plugin to unwrap its data key, which Lifeboat does not call offline`,
    };
  }
  if (!(KEY_PROVIDERS as string[]).includes(p.provider) || p.version !== 'v1') {
    return {
      ok: false,
      provider,
      keyName: p.name,
      reason: `unknown encryption provider ${p.provider} ${p.version}`,
    };
  }
  const candidates = config.keys.filter((k) => k.provider === p.provider && k.name === p.name);
  if (candidates.length === 0) {
    return {
      ok: false,
      provider,
      keyName: p.name,
      reason: `no ${p.provider} key named '${p.name}' in ${config.source === '(none)' ? 'the encryption config (give --encryption-config)' : config.source}`,
    };
  }
  const data = value.subarray(p.dataOffset);
  const errors: string[] = [];
  for (const k of candidates) {
    try {
      return { ok: true, plaintext: tryKey(k, data, etcdKey), provider, keyName: k.name };
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  return {
    ok: false,
    provider,
    keyName: p.name,
    reason: `${p.provider} key '${p.name}' does not decrypt it (${errors.join('; ')}): wrong key material${p.provider === 'aesgcm' ? ', or the value was moved from another key' : ''}`,
  };
}

/** Reads one small entry of a zip file (an RKE1 `.rkestate`), at most `limit` bytes. */
function readZipEntry(zipPath: string, entryName: string, limit = 64 << 20): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    yauzl.open(zipPath, { lazyEntries: true, autoClose: true, strictFileNames: false }, (err, zf) => {
      if (err || !zf)
        return reject(new CorruptInputError(zipPath, `cannot open zip: ${err?.message ?? 'unknown error'}`));
      zf.on('entry', (e: yauzl.Entry) => {
        if (e.fileName !== entryName) return zf.readEntry();
        if (e.uncompressedSize > limit) {
          zf.close();
          return reject(
            new CorruptInputError(
              zipPath,
              `${entryName} is ${e.uncompressedSize} bytes; expected at most ${limit}`,
            ),
          );
        }
        zf.openReadStream(e, (err2, stream) => {
          if (err2 || !stream)
            return reject(new CorruptInputError(zipPath, `cannot read ${entryName}: ${err2?.message}`));
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('error', (e3) =>
            reject(new CorruptInputError(zipPath, `cannot read ${entryName}: ${e3.message}`)),
          );
          stream.on('end', () => {
            zf.close();
            resolve(Buffer.concat(chunks));
          });
        });
      });
      zf.on('end', () => reject(new NotFoundError(`zip entry ${entryName}`, zipPath)));
      zf.readEntry();
    });
  });
}

/**
 * The EncryptionConfiguration an RKE1 cluster state file (`.rkestate`, JSON) carries in
 * currentState.encryptionConfig (else desiredState.encryptionConfig), when the snapshot zip holds one.
 */
export async function encryptionFromRkeState(
  zipPath: string,
  entryName: string,
): Promise<EncryptionConfig | undefined> {
  const text = (await readZipEntry(zipPath, entryName)).toString('utf8');
  let state: { currentState?: { encryptionConfig?: string }; desiredState?: { encryptionConfig?: string } };
  try {
    state = JSON.parse(text) as typeof state;
  } catch {
    throw new EncryptionConfigError(`${zipPath}:${entryName}`, 'not a JSON RKE cluster state file');
  }
  const cfg = state.currentState?.encryptionConfig || state.desiredState?.encryptionConfig;
  return cfg ? EncryptionConfig.parse(cfg, `${zipPath}:${entryName}`) : undefined;
}
