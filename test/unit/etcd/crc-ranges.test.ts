import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { RangeCrc } from '../../../src/etcd/crc-ranges.js';
import { crc32c, crc32cCombine } from '../../../src/etcd/index.js';
import { ByteKeySet } from '../../../src/etcd/key-set.js';
import { CorruptInputError } from '../../../src/util/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-crc-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('CRC-32C over ranges', () => {
  it('combine(crc(A), crc(B), len(B)) = crc(A‖B) for empty, tiny and large pieces', () => {
    for (const [a, b] of [
      [0, 0],
      [1, 0],
      [0, 1],
      [5, 3],
      [4096, 1000],
      [3, 1 << 20],
      [123_457, 7],
    ] as const) {
      const A = randomBytes(a);
      const B = randomBytes(b);
      assert.equal(crc32cCombine(crc32c(A), crc32c(B), b), crc32c(Buffer.concat([A, B])), `${a}+${b}`);
    }
  });

  it('a helper thread and the caller together give the sequential CRC of memory and file pieces', () => {
    const file = join(dir, 'data');
    const data = randomBytes(3 << 20);
    writeFileSync(file, data);
    const plan: ([number, number] | Buffer)[] = [
      randomBytes(10),
      [0, 100 << 10],
      [5, 17],
      randomBytes(3),
      randomBytes(0),
      [200_000, (2 << 20) + 12_345],
      [(3 << 20) - 70_000, 70_000],
    ];
    const expected = crc32c(
      Buffer.concat(plan.map((p) => (Buffer.isBuffer(p) ? p : data.subarray(p[0], p[0] + p[1])))),
    );
    const fd = openSync(file, 'r');
    try {
      for (const parallel of [true, false]) {
        const c = new RangeCrc({ path: file, fd, size: data.length }, { parallel });
        for (const p of plan) {
          if (Buffer.isBuffer(p)) c.bytes(p);
          else c.fileRange(p[0], p[1]);
        }
        assert.equal(c.finish(), expected, `parallel=${parallel}`);
      }
      // The helper thread really runs (a wrong worker path would only make the caller do everything).
      const c = new RangeCrc({ path: file, fd, size: data.length }, { parallel: true });
      for (let i = 0; i < 8; i++) c.fileRange(i * (256 << 10), 256 << 10);
      const t0 = Date.now();
      while (c.helped < 8 && Date.now() - t0 < 20_000)
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      assert.equal(c.helped, 8, 'the helper thread computed the queued ranges');
      assert.equal(c.finish(), crc32c(data.subarray(0, 8 * (256 << 10))));
      // A range past the end of the file (it shrank while being read) is a clear error, not a wrong CRC.
      for (const parallel of [true, false]) {
        const c = new RangeCrc({ path: file, fd, size: data.length }, { parallel });
        assert.throws(
          () => {
            c.fileRange(data.length - (80 << 10), 160 << 10);
            c.finish();
          },
          CorruptInputError,
          `parallel=${parallel}`,
        );
        c.close();
      }
    } finally {
      closeSync(fd);
    }
  });
});

describe('ByteKeySet', () => {
  it('counts the keys whose last mark is alive, like a Set<string> with add/delete', () => {
    const set = new ByteKeySet();
    const ref = new Set<string>();
    const keys = Array.from({ length: 5000 }, (_, i) =>
      Buffer.from(`/registry/k${i % 3777}/${'x'.repeat(i % 50)}`),
    );
    keys.push(Buffer.alloc(0), Buffer.from([0, 1, 2]), Buffer.from([0xff]));
    let seed = 7;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let n = 0; n < 40_000; n++) {
      const k = keys[rnd() % keys.length]!;
      const alive = rnd() % 3 !== 0;
      // Marks may come from inside a larger buffer.
      const host = Buffer.concat([Buffer.from('ab'), k, Buffer.from('c')]);
      set.mark(host, 2, 2 + k.length, alive);
      if (alive) ref.add(k.toString('latin1'));
      else ref.delete(k.toString('latin1'));
    }
    assert.equal(set.live, ref.size);
  });
});
