import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  crc32c,
  crc32cImplementation,
  crc32cPure,
  decodeKeyValue,
  encodeKeyValue,
  encodeRevisionKey,
  inRange,
  parseRevisionKey,
  prefixRangeEnd,
} from '../../../src/etcd/index.js';

describe('etcd codecs', () => {
  it('revision keys: 17 bytes, 18 with the tombstone mark, big-endian, refused when malformed', () => {
    const k = encodeRevisionKey({ main: 0x0102030405n, sub: 7n });
    assert.equal(k.toString('hex'), '00000001020304055f0000000000000007');
    assert.deepEqual(parseRevisionKey(k), { main: 0x0102030405n, sub: 7n, tombstone: false });
    const t = encodeRevisionKey({ main: 9n, sub: 0n }, true);
    assert.equal(t.length, 18);
    assert.deepEqual(parseRevisionKey(t), { main: 9n, sub: 0n, tombstone: true });
    assert.match(parseRevisionKey(Buffer.alloc(16)) as string, /16 bytes/);
    const bad = Buffer.from(k);
    bad[8] = 0x2d;
    assert.match(parseRevisionKey(bad) as string, /expected '_'/);
    const neg = encodeRevisionKey({ main: -1n, sub: 0n });
    assert.match(parseRevisionKey(neg) as string, /negative/);
  });

  it('mvccpb.KeyValue round-trips int64 values exactly, including negative and > 2^53', () => {
    const kv = {
      key: Buffer.from([0, 1, 0xff]),
      createRevision: 2n ** 62n + 3n,
      modRevision: 9007199254740993n,
      version: 1n,
      value: randomBytes(1000),
      lease: -5n,
    };
    const d = decodeKeyValue(encodeKeyValue(kv));
    assert.deepEqual(d, kv);
    assert.deepEqual(
      decodeKeyValue(encodeKeyValue({ ...kv, value: undefined, lease: 0n })).value,
      Buffer.alloc(0),
    );
    assert.throws(() => decodeKeyValue(Buffer.from([0x0a, 0x05, 0x01])), /past the end/);
    assert.throws(
      () =>
        decodeKeyValue(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])),
      /varint/,
    );
  });

  it('CRC-32C: the check value, and native and pure implementations agree incrementally', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32cPure(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32cImplementation(), 'native', '@node-rs/crc32 ships a binary for this platform');
    for (const n of [0, 1, 7, 8, 9, 63, 4096, 100001]) {
      const a = randomBytes(n);
      const b = randomBytes(n % 13);
      assert.equal(crc32cPure(b, crc32cPure(a)), crc32c(b, crc32c(a)), `length ${n}`);
      assert.equal(crc32cPure(Buffer.concat([a, b])), crc32c(b, crc32c(a)));
    }
  });

  it('range ends follow etcd: single key, from-key (\\0) and prefix', () => {
    assert.ok(inRange(Buffer.from('a'), Buffer.from('a'), undefined));
    assert.ok(!inRange(Buffer.from('ab'), Buffer.from('a'), undefined));
    assert.ok(inRange(Buffer.from('zzz'), Buffer.from('b'), Buffer.from([0])));
    assert.ok(!inRange(Buffer.from('a'), Buffer.from('b'), Buffer.from([0])));
    assert.deepEqual(prefixRangeEnd(Buffer.from('/a')), Buffer.from('/b'));
    assert.deepEqual(prefixRangeEnd(Buffer.from([0x61, 0xff])), Buffer.from([0x62]));
    assert.deepEqual(prefixRangeEnd(Buffer.from([0xff, 0xff])), Buffer.from([0]));
  });
});
