/* eslint-disable @typescript-eslint/no-explicit-any -- assertions reach into decoded JSON documents */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeObject } from '../../../src/kube/decode.js';
import { canonicalQuantity } from '../../../src/kube/quantity.js';

// Expected values are what k8s.io/apimachinery's resource.MustParse(s).String() prints.
const CASES: [string, string][] = [
  ['1.5', '1500m'],
  ['0.1', '100m'],
  ['1000m', '1'],
  ['2000', '2k'],
  ['1024Mi', '1Gi'],
  ['0.5Gi', '512Mi'],
  ['1.5Gi', '1536Mi'],
  ['1.5Ki', '1536'],
  ['1.5e3', '1500'],
  ['0.0000000001', '1n'],
  ['0Mi', '0'],
  ['9223372036854775808', '9223372036854775808'],
  ['8Ei', '9223372036854775807'],
  // Kept verbatim: ParseQuantity's fast path caches text that already looks canonical.
  ['100m', '100m'],
  ['1G', '1G'],
  ['1E3', '1E3'],
  ['+1M', '+1M'],
  ['100Mi', '100Mi'],
  ['1536Ki', '1536Ki'],
];

test('quantities print as String(ParseQuantity(s)): canonical form, or the text when already canonical', () => {
  for (const [input, want] of CASES) assert.equal(canonicalQuantity(input), want, input);
  assert.equal(canonicalQuantity('12e'), undefined);
  assert.equal(canonicalQuantity('abc'), undefined);
  // Idempotent on its own output: what the apiserver stored reads back unchanged.
  for (const [input] of CASES) {
    const once = canonicalQuantity(input)!;
    assert.equal(canonicalQuantity(once), once, input);
  }
});

const podJson = (cpu: unknown, memory: unknown): Buffer =>
  Buffer.from(
    JSON.stringify({
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: { name: 'p', namespace: 'ns' },
      spec: {
        containers: [{ name: 'c', image: 'i', resources: { limits: { cpu, memory }, requests: { cpu } } }],
        overhead: { cpu },
      },
    }),
  );

test('core/v1 ResourceList values are also rounded up to milli-units (SetDefaults_ResourceList)', () => {
  const milli = (x: string): string | undefined => canonicalQuantity(x, { roundUpMilli: true });
  assert.equal(milli('0.0000000001'), '1m');
  assert.equal(milli('1.0001'), '1001m');
  assert.equal(milli('100u'), '1m');
  assert.equal(milli('1500u'), '2m');
  // Already at milli scale or coarser: untouched, the cached text included.
  assert.equal(milli('100m'), '100m');
  assert.equal(milli('+1M'), '+1M');
  assert.equal(milli('1.5'), '1500m');
  assert.equal(canonicalQuantity('100u'), '100u');
});

test('JSON-stored built-ins get the quantities kube-apiserver prints after decoding them', () => {
  const o = decodeObject(podJson('1.5', '1024Mi'), { key: '/registry/pods/ns/p' }).object as any;
  const c = o.spec.containers[0];
  assert.deepEqual(c.resources, { limits: { cpu: '1500m', memory: '1Gi' }, requests: { cpu: '1500m' } });
  assert.deepEqual(o.spec.overhead, { cpu: '1500m' });
  // Printed through the Go type as the apiserver re-encodes it: a struct field that is not a pointer is
  // never omitted (status: {}), fields take the struct's order.
  assert.deepEqual(o.status, {});
  assert.deepEqual(Object.keys(o), ['kind', 'apiVersion', 'metadata', 'spec', 'status']);
  // Requests/limits are ResourceLists: rounded up to milli-units as the apiserver's defaulting does.
  const tiny = decodeObject(podJson('0.0001', '1.5Ki'), { key: '/registry/pods/ns/p' }).object as any;
  assert.deepEqual(tiny.spec.containers[0].resources.limits, { cpu: '1m', memory: '1536' });
  // A quantity stored as a JSON number is printed as a string, as Quantity.MarshalJSON does.
  const n = decodeObject(podJson(2, '512Mi'), { key: '/registry/pods/ns/p' }).object as any;
  assert.deepEqual(n.spec.containers[0].resources.limits, { cpu: '2', memory: '512Mi' });
  // Custom resources are untyped: their quantity-looking strings are data and stay as stored.
  const cr = decodeObject(
    Buffer.from('{"apiVersion":"x.io/v1","kind":"W","metadata":{"name":"w"},"spec":{"cpu":"1.5"}}'),
    { key: '/registry/x.io/ws/w' },
  ).object as any;
  assert.equal(cr.spec.cpu, '1.5');
});

// Minimal protobuf encoder for the envelope + a Pod whose container requests cpu with a given text.
function varint(v: number): Buffer {
  const out: number[] = [];
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v > 0) b |= 0x80;
    out.push(b);
  } while (v > 0);
  return Buffer.from(out);
}
const bf = (num: number, b: Buffer | string): Buffer => {
  const data = typeof b === 'string' ? Buffer.from(b) : b;
  return Buffer.concat([varint((num << 3) | 2), varint(data.length), data]);
};

test('protobuf quantities are printed exactly as stored (the apiserver only ever stores String() of a parsed Quantity)', () => {
  // ResourceRequirements.requests (field 2) map entry cpu → Quantity{string: "1.5"}: text the apiserver
  // never writes. The decoder must not touch it; see quantity.ts for why stored text is already canonical.
  const resources = bf(2, Buffer.concat([bf(1, 'cpu'), bf(2, bf(1, '1.5'))]));
  const container = Buffer.concat([bf(1, 'c'), bf(2, 'img'), bf(8, resources)]);
  const pod = Buffer.concat([bf(1, bf(1, 'p')), bf(2, bf(2, container))]);
  const value = Buffer.concat([
    Buffer.from('k8s\0', 'latin1'),
    bf(1, Buffer.concat([bf(1, 'v1'), bf(2, 'Pod')])),
    bf(2, pod),
  ]);
  const o = decodeObject(value, { key: '/registry/pods/default/p' }).object as any;
  assert.deepEqual(o.spec.containers[0].resources, { requests: { cpu: '1.5' } });
});
