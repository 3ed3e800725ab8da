/** The backup's per-byte stages on their worker thread: what comes out, what is spooled, flow control. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decompressor } from '../../../src/backup/compression.js';
import { decryptStream, generateIdentity } from '../../../src/backup/encryption.js';
import { PipelineThread } from '../../../src/backup/pipeline-worker.js';
import { crc32c } from '../../../src/etcd/crc32c.js';
import { VerificationError } from '../../../src/util/errors.js';
import { FIXTURE } from '../snapshot/fixture.js';

async function collect(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r as AsyncIterable<Buffer>) parts.push(c);
  return Buffer.concat(parts);
}

async function feed(p: PipelineThread, data: Buffer, size: number): Promise<void> {
  for (let off = 0; off < data.length; off += size) {
    // Each batch owns its memory, as the receiving side's batches do (it moves to the worker).
    await p.write(Buffer.from(data.subarray(off, off + size)));
  }
}

test('zstd + age: the stored bytes decrypt to the input, the spool holds it, digests and facts match', async () => {
  const snap = readFileSync(FIXTURE);
  const original = Buffer.from(snap);
  const id = await generateIdentity();
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-pipeline-'));
  const spoolPath = join(dir, 'spool.db');
  const fd = openSync(spoolPath, 'wx', 0o600);
  const p = new PipelineThread({
    what: 'fixture',
    compression: 'zstd',
    compressionLevel: 1,
    recipients: [id.recipient],
    spoolFd: fd,
  });
  try {
    const out = collect(p.output);
    await feed(p, snap, 64 << 10);
    const plain = await p.end();
    const stored = await out;
    const done = await p.stored;
    assert.equal(plain.facts.sha256, createHash('sha256').update(snap).digest('hex'));
    assert.equal(plain.facts.size, BigInt(snap.length));
    assert.equal(plain.spoolError, undefined);
    // The spool is sparse: the inner pages of the large value are holes with their CRCs recorded.
    const holes = plain.holes!;
    const spooled = readFileSync(spoolPath);
    assert.equal(spooled.length, snap.length);
    assert.ok(holes.starts.length > 0);
    for (const [i, p] of holes.starts.entries()) {
      const run = snap.subarray(p * holes.pageSize, (p + holes.counts[i]!) * holes.pageSize);
      assert.equal(holes.crcs[i], crc32c(run));
      run.fill(0);
    }
    assert.ok(spooled.equals(snap), 'every other byte spooled as is');
    assert.equal(done.storedBytes, stored.length);
    assert.equal(done.storedSha256, createHash('sha256').update(stored).digest('hex'));
    assert.ok(stored.subarray(0, 21).toString() === 'age-encryption.org/v1');
    const decrypted = await decryptStream(Readable.from([stored]), [id.identity], 'stored');
    assert.deepEqual(await collect(decrypted.pipe(decompressor('zstd'))), original);
  } finally {
    await p.close();
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a damaged byte fails end() with the trailer problem, and the output fails with it', async () => {
  const snap = Buffer.from(readFileSync(FIXTURE));
  snap[snap.length - 4000]! ^= 1;
  const p = new PipelineThread({ what: 'snapshot from m1', compression: 'none', recipients: [] });
  try {
    const out = collect(p.output);
    await feed(p, snap, 1 << 20);
    await assert.rejects(p.end(), (e: unknown) => {
      assert.ok(e instanceof VerificationError);
      assert.match(e.message, /^snapshot from m1: sha256 trailer mismatch/);
      return true;
    });
    await assert.rejects(out, VerificationError);
  } finally {
    await p.close();
  }
});

test('fail() rejects the waiting writer and the output', async () => {
  const p = new PipelineThread({ what: 'x', compression: 'none', recipients: [] });
  const writes = (async () => {
    for (;;) await p.write(Buffer.alloc(1 << 20, 7));
  })();
  await sleep(100);
  p.fail(new Error('upload failed'));
  await assert.rejects(writes, /upload failed/);
  await assert.rejects(collect(p.output), /upload failed/);
  await p.close();
});

test('a reader that stops reading stops the writer after a bounded number of batches', async () => {
  const p = new PipelineThread({ what: 'x', compression: 'none', recipients: [] });
  let written = 0;
  const writes = (async () => {
    for (let i = 0; i < 64; i++) {
      await p.write(Buffer.alloc(1 << 20, i));
      written++;
    }
  })();
  writes.catch(() => undefined);
  await sleep(500);
  // Queues: 4 output chunks on each side, the stages' 4 MiB source buffer, 4 input batches in flight.
  assert.ok(written > 0 && written <= 20, `writer got ${written} MiB ahead of a reader that never read`);
  const out = collect(p.output);
  await writes;
  void p.end().catch(() => undefined);
  // The input has no trailer: the end fails, after every batch was accepted.
  await assert.rejects(out, VerificationError);
  assert.equal(written, 64);
  await p.close();
});

/** A valid snapshot stream of about `extra` bytes more than the fixture: random pages, a new trailer. */
function bigSnapshot(extra: number): Buffer {
  const db = Buffer.concat([readFileSync(FIXTURE).subarray(0, -32), randomBytes(extra)]);
  return Buffer.concat([db, createHash('sha256').update(db).digest()]);
}

for (const compression of ['none', 'zstd', 'gzip'] as const) {
  test(`${compression} + age: with batch and stored memory recycled, the stored bytes are exact`, async () => {
    const snap = bigSnapshot(12 << 20);
    const id = await generateIdentity();
    const p = new PipelineThread({
      what: 'big',
      compression,
      compressionLevel: 1,
      recipients: [id.recipient],
    });
    try {
      const parts: Buffer[] = [];
      const out = (async () => {
        for await (const c of p.output as AsyncIterable<Buffer>) {
          parts.push(Buffer.from(c));
          // Written: the memory goes back to the worker, which fills it again.
          p.recycle(c);
        }
      })();
      for (let off = 0; off < snap.length; off += 1 << 20) {
        const b = p.takeBuffer(1 << 20);
        const n = snap.copy(b, 0, off);
        await p.write(n === b.length ? b : b.subarray(0, n));
      }
      const plain = await p.end();
      await out;
      const stored = Buffer.concat(parts);
      const done = await p.stored;
      assert.equal(plain.facts.sha256, createHash('sha256').update(snap).digest('hex'));
      assert.equal(done.storedBytes, stored.length);
      assert.equal(done.storedSha256, createHash('sha256').update(stored).digest('hex'));
      // gzip never hands a batch back (zlib's use of its input is not tracked): fresh batches, still exact.
      if (compression === 'gzip') assert.equal(p.recycled.batches, 0);
      else assert.ok(p.recycled.batches > 0, 'batch memory came back from the worker');
      assert.ok(p.recycled.stored > 0, 'stored buffers went back to the worker');
      const decrypted = await decryptStream(Readable.from([stored]), [id.identity], 'stored');
      assert.ok((await collect(decrypted.pipe(decompressor(compression)))).equals(snap));
    } finally {
      await p.close();
    }
  });
}
