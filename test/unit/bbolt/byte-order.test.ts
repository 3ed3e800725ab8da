import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { BE, LE } from '../../../src/bbolt/byte-order.js';

describe('bbolt byte order readers', () => {
  it("little-endian readers equal Buffer's readers at every offset, high bits included", () => {
    for (let t = 0; t < 2000; t++) {
      const b = randomBytes(24);
      if (t % 3 === 0) b.fill(0xff, 0, 12);
      for (let o = 0; o <= 16; o++) {
        assert.equal(LE.u16(b, o), b.readUInt16LE(o));
        assert.equal(LE.u32(b, o), b.readUInt32LE(o));
        assert.equal(LE.u64n(b, o), Number(b.readBigUInt64LE(o)));
        assert.equal(BE.u64n(b, o), Number(b.readBigUInt64BE(o)));
      }
    }
  });

  it("throw Buffer's RangeError for bytes outside the buffer or a fractional offset", () => {
    const b = Buffer.alloc(16);
    for (const [read, o] of [
      [LE.u16, 15],
      [LE.u32, 13],
      [LE.u64n, 9],
      [LE.u32, -1],
      [LE.u32, 1.5],
    ] as const) {
      assert.throws(() => read(b, o), RangeError, `offset ${o}`);
    }
  });
});
