/**
 * Fuzz: mutated Kubernetes storage values (protobuf, JSON, CBOR) either decode or fail with one of
 * Lifeboat's typed errors — never another exception, never a hang. Bounded budget; the seed is printed so
 * a failure reproduces (LIFEBOAT_FUZZ_SEED=<n>).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encode as encodeCbor } from 'cbor2';
import { decodeObject } from '../../../src/kube/decode.js';
import { LifeboatError } from '../../../src/util/errors.js';
import { bf, envelope, mapEntry, msg, objectMeta, vf } from '../../helpers/protobuf.js';

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

const corpus: Buffer[] = [
  envelope(
    'v1',
    'ConfigMap',
    msg(bf(1, objectMeta('cfg', 'ns1', [mapEntry(11, 'app', 'web')])), mapEntry(2, 'mode', 'blue')),
  ),
  envelope(
    'apps/v1',
    'Deployment',
    msg(bf(1, objectMeta('web', 'shop')), bf(2, msg(vf(1, 3), bf(2, msg(mapEntry(1, 'app', 'web')))))),
  ),
  envelope(
    'v1',
    'Secret',
    msg(bf(1, objectMeta('s', 'ns')), bf(2, msg(bf(1, 'password'), bf(2, Buffer.from([0, 1, 255]))))),
  ),
  Buffer.from(
    JSON.stringify({
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w', namespace: 'ns', uid: 'u', creationTimestamp: '2024-01-02T03:04:05Z' },
      spec: { size: 3, tags: ['a', 'b'] },
    }),
  ),
  Buffer.concat([
    Buffer.from([0xd9, 0xd9, 0xf7]),
    Buffer.from(
      encodeCbor({
        apiVersion: 'example.com/v1',
        kind: 'Widget',
        metadata: { name: 'c', namespace: 'ns' },
        spec: { n: 1 },
      }),
    ),
  ]),
];

function mutate(input: Buffer, r: () => number): Buffer {
  const b = Buffer.from(input);
  const op = Math.floor(r() * 4);
  if (op === 0) {
    for (let i = 0; i < 1 + Math.floor(r() * 4); i++)
      b[Math.floor(r() * b.length)]! ^= 1 << Math.floor(r() * 8);
    return b;
  }
  if (op === 1) return b.subarray(0, Math.floor(r() * b.length));
  if (op === 2) {
    const at = Math.floor(r() * b.length);
    const junk = Buffer.from(Array.from({ length: 1 + Math.floor(r() * 12) }, () => Math.floor(r() * 256)));
    return Buffer.concat([b.subarray(0, at), junk, b.subarray(at)]);
  }
  const at = Math.floor(r() * b.length);
  b[at] = [0xff, 0x7f, 0x80, 0x00][Math.floor(r() * 4)]!;
  return b;
}

test('mutated storage values decode or fail with a typed one-line error', () => {
  const seed = Number(process.env.LIFEBOAT_FUZZ_SEED ?? Date.now() % 1e9);
  const r = rng(seed);
  const budgetMs = 10000;
  const started = Date.now();
  let runs = 0;
  let decoded = 0;
  for (const v of corpus) decodeObject(v, { key: '/registry/x' }); // the unmutated corpus decodes
  while (runs < 5000 && Date.now() - started < budgetMs) {
    const input = mutate(corpus[runs % corpus.length]!, r);
    const t0 = Date.now();
    try {
      decodeObject(input, { key: '/registry/fuzz', modRevision: 7n });
      decoded++;
    } catch (err) {
      assert.ok(
        err instanceof LifeboatError,
        `seed ${seed}, run ${runs}: ${String(err)} (input ${input.toString('hex').slice(0, 200)})`,
      );
      assert.ok(
        !err.message.includes('\n'),
        `seed ${seed}, run ${runs}: multi-line message: ${JSON.stringify(err.message).slice(0, 300)}`,
      );
    }
    assert.ok(
      Date.now() - t0 < 5000,
      `seed ${seed}, run ${runs}: one decode took ${Date.now() - t0} ms (input ${input.toString('hex').slice(0, 400)})`,
    );
    runs++;
  }
  process.stderr.write(`kube decode fuzz: seed ${seed}, ${runs} mutations, ${decoded} still decoded\n`);
  assert.ok(runs >= 200, `only ${runs} mutations ran in the budget`);
});
