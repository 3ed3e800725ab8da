/**
 * Client-side encryption in the age v1 format (age-encryption): X25519 recipients, a random file key,
 * and the payload in authenticated 64 KiB STREAM chunks, so a flipped byte, a dropped last chunk or
 * two swapped chunks fail decryption. Files decrypt with the plain `age -d -i IDENTITY` CLI.
 *
 * Identity files use age-keygen's layout: comment lines, then one `AGE-SECRET-KEY-1…` line.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { pipeline, Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { AgeEncrypter, identityRecipient } from './age-stream.js';
import {
  ConnectionError,
  NotFoundError,
  RefusedError,
  UsageError,
  VerificationError,
} from '../util/errors.js';
import { writeFileAtomic } from '../util/atomic-file.js';

export const AGE_FORMAT = 'age-v1';

/** A wrong or missing identity: the backup cannot be opened with what was given (exit 5, like auth). */
export class IdentityError extends ConnectionError {}

export interface NewIdentity {
  identity: string;
  recipient: string;
}

// age-encryption is loaded only where it is needed (new identities, decryption): ≈ 80 ms of start-up.

export async function generateIdentity(): Promise<NewIdentity> {
  const { generateX25519Identity, identityToRecipient } = await import('age-encryption');
  const identity = await generateX25519Identity();
  return { identity, recipient: await identityToRecipient(identity) };
}

/** Writes a new identity file (0600, never over an existing file); returns its recipient. */
export async function keygen(out: string, now: Date = new Date()): Promise<string> {
  if (existsSync(out)) throw new RefusedError(`refusing to overwrite existing identity file ${out}`);
  const { identity, recipient } = await generateIdentity();
  const text = `# created: ${now.toISOString().replace(/\.\d{3}Z$/, 'Z')}\n# public key: ${recipient}\n${identity}\n`;
  await writeFileAtomic(out, text, { mode: 0o600 });
  return recipient;
}

function readLines(path: string, flag: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new NotFoundError(`${flag} file ${path}`);
  }
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

export function readIdentityFile(path: string): string[] {
  const ids = readLines(path, '--encryption-identity');
  const bad = ids.find((l) => !l.startsWith('AGE-SECRET-KEY-1'));
  if (bad !== undefined || ids.length === 0) {
    throw new UsageError(
      `--encryption-identity ${path}: expected AGE-SECRET-KEY-1… lines (from lifeboat backup keygen or age-keygen), found ${ids.length === 0 ? 'none' : `'${bad!.slice(0, 20)}…'`}`,
    );
  }
  return ids;
}

export function checkRecipient(r: string, where: string): string {
  if (!/^age1[02-9ac-hj-np-z]{58}$/.test(r)) {
    throw new UsageError(`${where}: expected an X25519 age recipient (age1…, 62 characters), found '${r}'`);
  }
  return r;
}

export function readRecipientsFile(path: string): string[] {
  const rs = readLines(path, '--recipients-file').map((r) => checkRecipient(r, `--recipients-file ${path}`));
  if (rs.length === 0) throw new UsageError(`--recipients-file ${path}: expected age1… lines, found none`);
  return rs;
}

export async function recipientsOfIdentities(identities: string[]): Promise<string[]> {
  return identities.map((i) => identityRecipient(i));
}

/** A short, stable fingerprint of a recipient for manifests: `sha256:` + 16 hex digits. */
export function recipientFingerprint(recipient: string): string {
  return `sha256:${createHash('sha256').update(recipient).digest('hex').slice(0, 16)}`;
}

/** Encrypts a stream to the recipients (age v1, native crypto; see age-stream.ts). */
export function encryptStream(input: Readable, recipients: string[]): Readable {
  return pipeline(input, new AgeEncrypter(recipients), () => undefined);
}

/**
 * Decrypts a stream with the identities. The header is checked before this resolves (a wrong identity
 * throws IdentityError); damage to the payload makes the returned stream fail with VerificationError.
 */
export async function decryptStream(input: Readable, identities: string[], what: string): Promise<Readable> {
  const { Decrypter } = await import('age-encryption');
  const d = new Decrypter();
  for (const i of identities) d.addIdentity(i);
  const web = Readable.toWeb(input) as unknown as ReadableStream<Uint8Array>;
  let out: ReadableStream<Uint8Array>;
  try {
    out = await d.decrypt(web);
  } catch (err) {
    const msg = (err as Error).message ?? String(err);
    if (/no identity matched/i.test(msg)) {
      throw new IdentityError(what, "the given --encryption-identity is not among the backup's recipients");
    }
    throw new VerificationError(`${what}: age header invalid: ${msg}`, { cause: err });
  }
  const plain = Readable.fromWeb(out as unknown as WebReadableStream<Uint8Array>, { highWaterMark: 4 });
  async function* mapErrors(): AsyncGenerator<Buffer> {
    try {
      for await (const c of plain as AsyncIterable<Uint8Array>)
        yield Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    } catch (err) {
      throw new VerificationError(
        `${what}: encrypted data failed authentication (tampered or truncated): ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
  return Readable.from(mapErrors(), { objectMode: false });
}
