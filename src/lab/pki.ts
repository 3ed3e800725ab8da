/**
 * A small certificate authority for labs and test harnesses: ECDSA P-256, short-lived, every leaf with the
 * IP SANs it is reached on (its own address and 127.0.0.1: on Linux a connection to 127.0.0.N leaves from
 * 127.0.0.1, and etcd checks the peer's certificate against that source address).
 */
import { webcrypto } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 24 * 3600 * 1000;

export interface CertKeyPem {
  cert: string;
  key: string;
}

export interface LeafSpec {
  commonName: string;
  organizations?: string[];
  ips?: string[];
  dnsNames?: string[];
  server?: boolean;
  client?: boolean;
  validDays?: number;
}

function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
    .toString('hex')
    .replace(/^[89a-f]/, '1');
}

async function pkcs8Pem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const b64 = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd();
  return `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`;
}

function dnEscape(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, '\\$1');
}

export class CertificateAuthority {
  private constructor(
    private readonly cert: x509.X509Certificate,
    private readonly keys: CryptoKeyPair,
    readonly keyPem: string,
  ) {}

  get certPem(): string {
    return this.cert.toString('pem') + '\n';
  }

  static async create(commonName: string, validDays = 7): Promise<CertificateAuthority> {
    const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: `CN=${dnEscape(commonName)}`,
      notBefore: new Date(now - 3600 * 1000),
      notAfter: new Date(now + validDays * DAY),
      signingAlgorithm: ALG,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    return new CertificateAuthority(cert, keys, await pkcs8Pem(keys.privateKey));
  }

  /** A CA written earlier (certPem and its PKCS#8 keyPem), e.g. a lab's kept PKI. */
  static async load(certPem: string, keyPem: string): Promise<CertificateAuthority> {
    const cert = new x509.X509Certificate(certPem);
    const der = Buffer.from(keyPem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
    const privateKey = await webcrypto.subtle.importKey('pkcs8', der, ALG, true, ['sign']);
    const publicKey = await cert.publicKey.export(ALG, ['verify'], webcrypto as unknown as Crypto);
    return new CertificateAuthority(cert, { privateKey, publicKey } as CryptoKeyPair, keyPem);
  }

  async issue(spec: LeafSpec): Promise<CertKeyPem> {
    const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
    const now = Date.now();
    const subject = [
      `CN=${dnEscape(spec.commonName)}`,
      ...(spec.organizations ?? []).map((o) => `O=${dnEscape(o)}`),
    ].join(', ');
    const usages: string[] = [];
    if (spec.server) usages.push(x509.ExtendedKeyUsage.serverAuth);
    if (spec.client) usages.push(x509.ExtendedKeyUsage.clientAuth);
    const names: x509.JsonGeneralName[] = [
      ...(spec.ips ?? []).map((ip) => ({ type: 'ip' as const, value: ip })),
      ...(spec.dnsNames ?? []).map((d) => ({ type: 'dns' as const, value: d })),
    ];
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension(usages, false),
      await x509.AuthorityKeyIdentifierExtension.create(this.keys.publicKey),
    ];
    if (names.length) extensions.push(new x509.SubjectAlternativeNameExtension(names, false));
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject,
      issuer: this.cert.subject,
      notBefore: new Date(now - 3600 * 1000),
      notAfter: new Date(now + (spec.validDays ?? 7) * DAY),
      signingAlgorithm: ALG,
      publicKey: keys.publicKey,
      signingKey: this.keys.privateKey,
      extensions,
    });
    return { cert: cert.toString('pem') + '\n', key: await pkcs8Pem(keys.privateKey) };
  }
}

/** Writes `<name>.crt` (0644) and `<name>.key` (0600) into dir. Returns their paths. */
export async function writeCertKey(
  dir: string,
  name: string,
  pair: CertKeyPem,
): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  await fs.writeFile(cert, pair.cert, { mode: 0o644 });
  await fs.writeFile(key, pair.key, { mode: 0o600 });
  return { cert, key };
}
