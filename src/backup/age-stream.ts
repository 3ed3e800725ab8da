/**
 * A streaming age v1 encrypter (C2SP age: X25519 recipient stanzas, HMAC-SHA256 header MAC, STREAM payload
 * of 64 KiB ChaCha20-Poly1305 chunks) built on Node's native crypto. The age-encryption package stays the
 * reference for identities, recipients and decryption; its pure-JavaScript ChaCha20 runs at ~90 MB/s here,
 * native at ~1 GB/s, and encryption sits on the backup's critical path. Output is checked against
 * age-encryption and the `age` CLI in the tests.
 */
import {
  createCipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { bech32 } from '@scure/base';
import { UsageError } from '../util/errors.js';

const CHUNK = 64 * 1024;
const INTRO = 'age-encryption.org/v1\n';

const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
const hkdf = (ikm: Buffer, salt: Buffer, info: string) =>
  Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from(info), 32));

function seal(key: Buffer, nonce: Buffer, plain: Buffer): Buffer {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  const out = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
  return out;
}

/** The 32 key bytes of a Bech32 string with the expected prefix (age's recipients and identities). */
function bech32Key(text: string, expectedPrefix: string): Buffer {
  const { prefix, words } = bech32.decode(text as `${string}1${string}`, 1000);
  if (prefix !== expectedPrefix) throw new Error(`prefix ${prefix}`);
  const key = Buffer.from(bech32.fromWords(words));
  if (key.length !== 32) throw new Error(`${key.length}-byte key`);
  return key;
}

/** The 32-byte X25519 public key of an `age1…` recipient. */
export function recipientPublicKey(recipient: string): Buffer {
  try {
    return bech32Key(recipient, 'age');
  } catch (err) {
    throw new UsageError(`age recipient ${recipient}: not an X25519 recipient (${(err as Error).message})`);
  }
}

/** PKCS #8 DER of an X25519 private key, up to its 32 bytes (RFC 8410). */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/**
 * The `age1…` recipient of an `AGE-SECRET-KEY-1…` identity (its X25519 public key), with Node's crypto:
 * the age-encryption package (≈ 80 ms to load) is not needed to encrypt.
 */
export function identityRecipient(identity: string): string {
  let priv: Buffer;
  try {
    priv = bech32Key(identity.toLowerCase(), 'age-secret-key-');
  } catch (err) {
    throw new UsageError(`age identity: not an X25519 identity (${(err as Error).message})`);
  }
  const key = createPrivateKey({
    key: Buffer.concat([X25519_PKCS8_PREFIX, priv]),
    format: 'der',
    type: 'pkcs8',
  });
  const pub = Buffer.from((createPublicKey(key).export({ format: 'jwk' }) as { x: string }).x, 'base64url');
  return bech32.encode('age', bech32.toWords(pub), 1000);
}

function x25519Public(raw: Buffer): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: raw.toString('base64url') }, format: 'jwk' });
}

/** The age header for a fresh file key and the recipients. */
export function ageHeader(fileKey: Buffer, recipients: string[]): Buffer {
  let text = INTRO;
  for (const r of recipients) {
    const pub = recipientPublicKey(r);
    const eph = generateKeyPairSync('x25519');
    const ephPub = Buffer.from((eph.publicKey.export({ format: 'jwk' }) as { x: string }).x, 'base64url');
    const shared = diffieHellman({ privateKey: eph.privateKey, publicKey: x25519Public(pub) });
    if (shared.every((b) => b === 0)) throw new UsageError(`age recipient ${r}: low-order public key`);
    const wrapKey = hkdf(shared, Buffer.concat([ephPub, pub]), 'age-encryption.org/v1/X25519');
    const body = seal(wrapKey, Buffer.alloc(12), fileKey);
    text += `-> X25519 ${b64(ephPub)}\n${b64(body)}\n`;
  }
  text += '---';
  const mac = createHmac('sha256', hkdf(fileKey, Buffer.alloc(0), 'header'))
    .update(text)
    .digest();
  return Buffer.from(`${text} ${b64(mac)}\n`);
}

/**
 * The age payload of one file, sealed chunk by chunk as the plain bytes arrive in pieces of any size.
 * Full chunks are sealed straight from the input; only the bytes of a partial chunk are copied (at
 * most one chunk per call), so the caller may reuse an input's memory as soon as update() returns.
 * The output pieces are the header, the nonce, and each chunk's ciphertext and tag, in order.
 */
export class AgeSealer {
  private readonly key: Buffer;
  /** The STREAM nonce: an 11-byte big-endian chunk counter and the last-chunk flag (reused per chunk). */
  private readonly chunkNonce = Buffer.alloc(12);
  /** The bytes of the chunk not sealed yet (at least one byte is always held: the last chunk is flagged). */
  private readonly held = Buffer.allocUnsafe(CHUNK);
  private heldLen = 0;
  private started = false;
  private readonly header: Buffer;
  private readonly nonce: Buffer;

  constructor(recipients: string[]) {
    if (recipients.length === 0) throw new UsageError('age: at least one recipient is required');
    const fileKey = randomBytes(16);
    this.header = ageHeader(fileKey, recipients);
    this.nonce = randomBytes(16);
    this.key = hkdf(fileKey, this.nonce, 'payload');
  }

  private seal(out: Buffer[], plain: Buffer, last: boolean): void {
    const n = this.chunkNonce;
    n[11] = last ? 1 : 0;
    const c = createCipheriv('chacha20-poly1305', this.key, n, { authTagLength: 16 });
    out.push(c.update(plain));
    c.final();
    out.push(c.getAuthTag());
    // The next chunk's counter (createCipheriv copied this one).
    for (let i = 10; i >= 0; i--) {
      n[i] = (n[i]! + 1) & 0xff;
      if (n[i] !== 0) break;
    }
  }

  private begin(out: Buffer[]): void {
    if (this.started) return;
    this.started = true;
    out.push(this.header, this.nonce);
  }

  /** Seals what `data` completes; pushes the output pieces to `out`. Keeps no reference to `data`. */
  update(data: Buffer, out: Buffer[]): void {
    this.begin(out);
    let off = 0;
    if (this.heldLen > 0) {
      off = data.copy(this.held, this.heldLen, 0, Math.min(data.length, CHUNK - this.heldLen));
      this.heldLen += off;
      if (this.heldLen < CHUNK || off === data.length) return;
      this.seal(out, this.held, false);
      this.heldLen = 0;
    }
    for (; data.length - off > CHUNK; off += CHUNK) this.seal(out, data.subarray(off, off + CHUNK), false);
    this.heldLen = data.copy(this.held, 0, off);
  }

  /** Seals the last chunk (flagged as last; empty for an empty payload). */
  final(out: Buffer[]): void {
    this.begin(out);
    this.seal(out, this.held.subarray(0, this.heldLen), true);
    this.heldLen = 0;
  }
}

/** Encrypts a byte stream to age v1 for the recipients. */
export class AgeEncrypter extends Transform {
  private readonly sealer: AgeSealer;

  constructor(recipients: string[]) {
    super({ highWaterMark: 4 << 20 });
    this.sealer = new AgeSealer(recipients);
  }

  override _transform(data: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    const out: Buffer[] = [];
    this.sealer.update(data, out);
    // One push per input: fewer, larger writes downstream.
    if (out.length) this.push(out.length === 1 ? out[0]! : Buffer.concat(out));
    cb();
  }

  override _flush(cb: TransformCallback): void {
    const out: Buffer[] = [];
    this.sealer.final(out);
    this.push(Buffer.concat(out));
    cb();
  }
}
