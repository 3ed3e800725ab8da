/** Compression and age encryption round trips, and tamper detection in the age STREAM payload. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { AgeSealer, identityRecipient } from '../../../src/backup/age-stream.js';
import { compressor, decompressor, ZstdFrames, type Compression } from '../../../src/backup/compression.js';
import {
  decryptStream,
  encryptStream,
  generateIdentity,
  IdentityError,
} from '../../../src/backup/encryption.js';
import { UsageError, VerificationError } from '../../../src/util/errors.js';

async function collect(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r as AsyncIterable<Buffer>) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

function input(): Buffer {
  // Compressible but not trivial: repeated blocks with random islands, 3 MiB.
  const b = Buffer.alloc(3 << 20, 7);
  for (let i = 0; i < b.length; i += 65536) randomBytes(1000).copy(b, i);
  return b;
}

for (const kind of ['zstd', 'gzip', 'none'] as Compression[]) {
  test(`${kind} round-trips in 32 KiB chunks`, async () => {
    const data = input();
    const chunks = Array.from({ length: Math.ceil(data.length / 32768) }, (_, i) =>
      data.subarray(i * 32768, (i + 1) * 32768),
    );
    const packed = await collect(Readable.from(chunks).pipe(compressor(kind, 1)));
    if (kind !== 'none') assert.ok(packed.length < data.length / 4, `${kind} compressed ${packed.length}`);
    const out = await collect(Readable.from([packed]).pipe(decompressor(kind)));
    assert.ok(out.equals(data));
  });
}

test('zstd: the native and the WebAssembly writers both make frames that fzstd reads as one stream', async () => {
  const data = input();
  for (const impl of ['native', 'wasm'] as const) {
    const packed = await collect(Readable.from([data]).pipe(compressor('zstd', 1, impl)));
    // 3 MiB in 1 MiB frames: three zstd frame magics (28 b5 2f fd) at least.
    let frames = 0;
    for (let i = packed.indexOf(ZSTD_MAGIC); i >= 0; i = packed.indexOf(ZSTD_MAGIC, i + 4)) frames++;
    assert.ok(frames >= 3, `${impl}: ${frames} frames`);
    const out = await collect(Readable.from([packed]).pipe(decompressor('zstd')));
    assert.ok(out.equals(data), impl);
  }
});

test('age: input in irregular pieces seals into exact 64 KiB chunks that age-encryption reads', async () => {
  const a = await generateIdentity();
  const data = randomBytes(5 * 65536 + 123);
  const sizes = [1, 65535, 2, 65536, 70000, 3, 131072, 1000];
  const pieces: Buffer[] = [];
  let off = 0;
  for (let i = 0; off < data.length; i++) {
    const n = sizes[i % sizes.length]!;
    pieces.push(data.subarray(off, off + n));
    off += n;
  }
  const enc = await collect(encryptStream(Readable.from(pieces), [a.recipient]));
  const header = enc.indexOf('\n', enc.indexOf('---')) + 1 + 16;
  // 5 full chunks and a 123-byte last one, each with a 16-byte tag.
  assert.equal(enc.length - header, 5 * (65536 + 16) + 123 + 16);
  const dec = await collect(await decryptStream(Readable.from([enc]), [a.identity], 'x'));
  assert.ok(dec.equals(data));
});

test('age: encrypt to a recipient, decrypt with its identity; a wrong identity is an IdentityError', async () => {
  const a = await generateIdentity();
  const b = await generateIdentity();
  const data = randomBytes(200_000);
  const enc = await collect(encryptStream(Readable.from([data]), [a.recipient]));
  assert.ok(enc.subarray(0, 21).toString() === 'age-encryption.org/v1');
  const dec = await collect(await decryptStream(Readable.from([enc]), [a.identity], 'x'));
  assert.ok(dec.equals(data));
  await assert.rejects(decryptStream(Readable.from([enc]), [b.identity], 'x'), IdentityError);
});

test('age: a flipped payload byte and a dropped last chunk fail with VerificationError', async () => {
  const a = await generateIdentity();
  const data = randomBytes(300_000);
  const enc = await collect(encryptStream(Readable.from([data]), [a.recipient]));
  const flipped = Buffer.from(enc);
  flipped[enc.length - 1000]! ^= 0x01;
  await assert.rejects(
    collect(await decryptStream(Readable.from([flipped]), [a.identity], 'x')),
    VerificationError,
  );
  const dropped = enc.subarray(0, enc.length - ((enc.length - 200) % (65536 + 16)) - 0);
  await assert.rejects(
    (async () => collect(await decryptStream(Readable.from([dropped]), [a.identity], 'x')))(),
    VerificationError,
  );
});

test('age: chunk-boundary sizes (0, 1, 64 KiB, 64 KiB + 1) round-trip through age-encryption', async () => {
  const a = await generateIdentity();
  for (const n of [0, 1, 65536, 65537, 3 * 65536]) {
    const data = randomBytes(n);
    const enc = await collect(encryptStream(Readable.from([data]), [a.recipient]));
    const dec = await collect(await decryptStream(Readable.from([enc]), [a.identity], 'x'));
    assert.ok(dec.equals(data), `size ${n}`);
  }
});

test('zstd frames: a whole frame on a boundary is compressed in place and released once made; other input is copied and released at once', async () => {
  const frames = new ZstdFrames(1);
  const out: Buffer[] = [];
  const released: string[] = [];
  const whole = Buffer.alloc(1 << 20, 1);
  const part = Buffer.alloc(1000, 2);
  await frames.add(
    whole,
    () => released.push('whole'),
    (f) => out.push(f),
  );
  assert.equal(released.length, 0, 'still being compressed');
  await frames.add(
    part,
    () => released.push('part'),
    (f) => out.push(f),
  );
  assert.equal(released.join(), 'part');
  part.fill(9); // released: the frames must hold their own copy
  await frames.finish((f) => out.push(f));
  assert.equal(released.join(), 'part,whole');
  const plain = await collect(Readable.from([Buffer.concat(out)]).pipe(decompressor('zstd')));
  assert.ok(plain.equals(Buffer.concat([Buffer.alloc(1 << 20, 1), Buffer.alloc(1000, 2)])));
});

test('age: the sealer keeps no reference to its input, and the chunk counter carries past 256 chunks', async () => {
  const a = await generateIdentity();
  const data = randomBytes(300 * 65536 + 5);
  const sealer = new AgeSealer([a.recipient]);
  const out: Buffer[] = [];
  const scratch = Buffer.alloc(100_000);
  for (let off = 0; off < data.length; off += scratch.length) {
    const n = data.copy(scratch, 0, off);
    sealer.update(scratch.subarray(0, n), out);
    scratch.fill(0xee); // reused by the caller: what was sealed or held must not change
  }
  sealer.final(out);
  const enc = Buffer.concat(out);
  const dec = await collect(await decryptStream(Readable.from([enc]), [a.identity], 'x'));
  assert.ok(dec.equals(data));
});

test('zstd: the asked level reaches both writers (level 1 frames are larger than level 9 frames)', async () => {
  const data = Buffer.from(
    Array.from({ length: 40_000 }, (_, i) => `{"key":"k${i % 977}","value":${(i * 7919) % 10007}}`).join(','),
  );
  for (const impl of ['native', 'wasm'] as const) {
    const at = async (level: number) =>
      (await collect(Readable.from([data]).pipe(compressor('zstd', level, impl)))).length;
    const fast = await at(1);
    const small = await at(9);
    assert.ok(fast > small, `${impl}: level 1 gave ${fast} bytes, level 9 ${small}`);
  }
});

test("age: an identity's recipient, computed natively, is age-encryption's; a malformed identity is a UsageError", async () => {
  const { generateX25519Identity, identityToRecipient } = await import('age-encryption');
  for (let i = 0; i < 20; i++) {
    const identity = await generateX25519Identity();
    assert.equal(identityRecipient(identity), await identityToRecipient(identity));
  }
  assert.throws(() => identityRecipient('AGE-SECRET-KEY-1QQQQ'), UsageError);
  assert.throws(() => identityRecipient('age1' + 'q'.repeat(58)), /not an X25519 identity/);
});
