/**
 * The repository conformance suite: every Repository implementation must pass it. Call from a test file
 * with a factory that opens a fresh, empty repository.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import type { Repository } from '../../src/stores/repository.js';
import { NotFoundError, RefusedError } from '../../src/util/errors.js';

async function collect(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r as AsyncIterable<Buffer>) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

/** A stream of `total` random bytes in 64 KiB chunks that fails after `failAfter` bytes if given. */
export function randomStream(total: number, failAfter?: number): { stream: Readable; data: Buffer } {
  const data = randomBytes(total);
  async function* gen() {
    for (let off = 0; off < total; off += 65536) {
      if (failAfter !== undefined && off >= failAfter) throw new Error('source failed on purpose');
      yield data.subarray(off, off + 65536);
      await new Promise((r) => setImmediate(r));
    }
  }
  return { stream: Readable.from(gen(), { objectMode: false }), data };
}

export function repositoryConformance(
  name: string,
  open: () => Promise<Repository>,
  extras: { incompleteUploads?: (r: Repository) => Promise<string[]> } = {},
): void {
  test(`${name}: put, stat, get, getBytes and list round-trip`, async () => {
    const r = await open();
    try {
      const small = Buffer.from('{"hello":1}\n');
      await r.put('manifests/a.json', small);
      const { stream, data } = randomStream(20 << 20); // 20 MiB: several multipart parts on S3
      const res = await r.put('data/a/blob', stream);
      assert.equal(res.size, data.length);
      assert.deepEqual(await r.getBytes('manifests/a.json'), small);
      assert.ok((await collect(await r.get('data/a/blob'))).equals(data));
      const st = await r.stat('data/a/blob');
      assert.equal(st?.size, data.length);
      assert.ok(st!.modified.getTime() > Date.now() - 600_000);
      assert.equal(await r.stat('data/a/missing'), undefined);
      assert.deepEqual(
        (await r.list('')).map((o) => o.key),
        ['data/a/blob', 'manifests/a.json'],
      );
      assert.deepEqual(
        (await r.list('data/')).map((o) => o.key),
        ['data/a/blob'],
      );
      assert.deepEqual(await r.list('nothing/'), []);
    } finally {
      await r.close();
    }
  });

  test(`${name}: objects are write-once`, async () => {
    const r = await open();
    try {
      await r.put('x/once', Buffer.from('first'));
      await assert.rejects(r.put('x/once', Buffer.from('second')), RefusedError);
      assert.equal((await r.getBytes('x/once')).toString(), 'first');
    } finally {
      await r.close();
    }
  });

  test(`${name}: a failing source leaves nothing behind (no object, no partial upload)`, async () => {
    const r = await open();
    try {
      const { stream } = randomStream(24 << 20, 12 << 20);
      await assert.rejects(r.put('data/failed/blob', stream), /source failed on purpose/);
      assert.equal(await r.stat('data/failed/blob'), undefined);
      assert.deepEqual(await r.list('data/failed/'), []);
      if (extras.incompleteUploads) assert.deepEqual(await extras.incompleteUploads(r), []);
    } finally {
      await r.close();
    }
  });

  test(`${name}: an aborted put leaves nothing behind`, async () => {
    const r = await open();
    try {
      const ac = new AbortController();
      const { stream } = randomStream(24 << 20);
      const p = r.put('data/aborted/blob', stream, {
        signal: ac.signal,
        onProgress: (n) => {
          if (n > 10 << 20) ac.abort(new Error('aborted on purpose'));
        },
      });
      await assert.rejects(p);
      assert.equal(await r.stat('data/aborted/blob'), undefined);
      if (extras.incompleteUploads) assert.deepEqual(await extras.incompleteUploads(r), []);
    } finally {
      await r.close();
    }
  });

  test(`${name}: delete removes, deleting a missing object is fine, get of a missing object is NotFound`, async () => {
    const r = await open();
    try {
      await r.put('d/1', Buffer.from('1'));
      await r.delete('d/1');
      await r.delete('d/1');
      assert.equal(await r.stat('d/1'), undefined);
      await assert.rejects(
        r.get('d/1').then((s) => collect(s)),
        NotFoundError,
      );
      await assert.rejects(r.getBytes('d/1'), NotFoundError);
    } finally {
      await r.close();
    }
  });

  test(`${name}: concurrent writers of one small object: exactly one wins`, async () => {
    const r = await open();
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) => r.put('locks/slot.json', Buffer.from(`writer ${i}`))),
      );
      const won = results.filter((x) => x.status === 'fulfilled');
      assert.equal(won.length, 1);
      for (const x of results)
        if (x.status === 'rejected') assert.ok(x.reason instanceof RefusedError, String(x.reason));
      assert.match((await r.getBytes('locks/slot.json')).toString(), /^writer \d$/);
    } finally {
      await r.close();
    }
  });
}
