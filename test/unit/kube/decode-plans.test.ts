/* eslint-disable @typescript-eslint/no-explicit-any -- assertions reach into decoded JSON documents */
/**
 * The compiled-plan decoder's fast paths: struct order against wire order, map entries out of order and
 * repeated, packed and wrapped slices, inline structs, zero values, resourceVersion placement, unknown fields
 * (grouping, huge field numbers, paths), the string and time fast paths and the varint helpers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encode as encodeCbor } from 'cbor2';
import { decodeObject } from '../../../src/kube/decode.js';
import { parseCbor } from '../../../src/kube/json-value.js';
import { formatRfc3339 } from '../../../src/kube/go-format.js';
import {
  readRecord,
  varintInt32At,
  varintInt64At,
  varintUint64At,
  type RawRecord,
} from '../../../src/kube/protowire.js';
import { utf8Text } from '../../../src/kube/text.js';
import { KubeSchema, kubeSchema } from '../../../src/kube/schema.js';
import { stringifyJson } from '../../../src/util/json.js';
import { bf, envelope, mapEntry, msg, objectMeta, varint, vf } from '../../helpers/protobuf.js';

/** A field with a tag of any size (field numbers beyond 2^28 need more than 4 tag bytes). */
const bigTag = (num: bigint, wire: number, payload: Buffer): Buffer =>
  Buffer.concat([varint((num << 3n) | BigInt(wire)), payload]);

test('varint helpers: int32 sign extension, int64 and uint64 beyond 2^53 as bigint, short values as numbers', () => {
  const neg = varint(-5);
  assert.equal(neg.length, 10);
  assert.equal(varintInt32At(neg, 0, neg.length), -5);
  assert.equal(varintInt64At(neg, 0, neg.length), -5);
  const big = varint(2n ** 63n + 7n);
  assert.equal(varintUint64At(big, 0, big.length), 2n ** 63n + 7n);
  assert.equal(varintInt64At(big, 0, big.length), -(2n ** 63n) + 7n);
  const safe = varint(2 ** 52 + 1);
  assert.equal(varintUint64At(safe, 0, safe.length), 2 ** 52 + 1);
  assert.equal(varintUint64At(varint(300), 0, 2), 300);
  const r: RawRecord = { num: 0, wire: 0, pos: 0, len: 0 };
  const rec = bigTag(2n ** 40n, 2, Buffer.from([3, 1, 2, 3]));
  assert.equal(readRecord(rec, 0, rec.length, 'k', r), rec.length);
  assert.deepEqual(r, { num: 2 ** 40, wire: 2, pos: rec.length - 3, len: 3 });
  assert.throws(
    () => readRecord(Buffer.from([0x0a, 0x05, 0x01]), 0, 3, 'k', r),
    /length 5 runs past the end/,
  );
  assert.throws(() => readRecord(Buffer.from([0x0b]), 0, 1, 'k', r), /unsupported wire type 3 for field 1/);
  assert.throws(() => readRecord(Buffer.from([0x00, 0x01]), 0, 2, 'k', r), /field number 0/);
});

test('strings: short ASCII, long, multi-byte and invalid UTF-8; a leading BOM is kept as Go keeps it', () => {
  const b = Buffer.concat([
    Buffer.from('get'),
    Buffer.from('x'.repeat(40)),
    Buffer.from('ünï'),
    Buffer.from([0xff, 0x41]),
    Buffer.from([0xef, 0xbb, 0xbf, 0x41]),
  ]);
  assert.equal(utf8Text(b, 0, 3), 'get');
  assert.equal(utf8Text(b, 3, 43), 'x'.repeat(40));
  assert.equal(utf8Text(b, 43, 48), 'ünï');
  assert.equal(utf8Text(b, 48, 50), '\ufffdA');
  assert.equal(utf8Text(b, 50, 54), '\ufeffA');
  assert.equal(utf8Text(b, 5, 5), '');
});

test('times: the arithmetic RFC 3339 form agrees with Date across years 0000-9999, leap days included', () => {
  const viaDate = (s: number): string => {
    const d = new Date(s * 1000);
    const p = (n: number, w: number) => String(n).padStart(w, '0');
    return (
      `${p(d.getUTCFullYear(), 4)}-${p(d.getUTCMonth() + 1, 2)}-${p(d.getUTCDate(), 2)}T` +
      `${p(d.getUTCHours(), 2)}:${p(d.getUTCMinutes(), 2)}:${p(d.getUTCSeconds(), 2)}Z`
    );
  };
  const samples = [-62167219200, 253402300799, 0, -1, 951782400, 951868800, 4107542400, 1704164645];
  for (let s = -62167219200; s < 253402300799; s += 86400 * 97 + 3671) samples.push(s);
  for (const s of samples) assert.equal(formatRfc3339(s), viaDate(s), `seconds ${s}`);
  assert.equal(formatRfc3339(1704164645n), '2024-01-02T03:04:05Z');
  assert.equal(formatRfc3339(10n ** 18n), `${10n ** 18n}s`, 'beyond Date: Go-like seconds');
});

test('struct order differs from wire order; wrapped slices in maps; maps out of order with a repeated key', () => {
  // certificates/v1 CertificateSigningRequestSpec: signerName (7) prints before usages (5) and username (2).
  const extra = (k: string, ...vals: string[]) => mapEntry(6, k, msg(...vals.map((v) => bf(1, v))));
  const spec = msg(
    bf(1, Buffer.from('csr')),
    bf(2, 'alice'),
    bf(4, 'g1'),
    bf(4, 'g2'),
    bf(5, 'client auth'),
    extra('z', 'z1'),
    extra('a', 'a1', 'a2'),
    extra('z', 'z2'),
    bf(7, 'kubernetes.io/kube-apiserver-client'),
  );
  const d = decodeObject(
    envelope(
      'certificates.k8s.io/v1',
      'CertificateSigningRequest',
      msg(bf(1, objectMeta('c', '')), bf(2, spec)),
    ),
    { key: 'k', modRevision: 9n },
  );
  const s = (d.object as any).spec;
  assert.deepEqual(Object.keys(s), ['request', 'signerName', 'usages', 'username', 'groups', 'extra']);
  assert.equal(s.request, 'Y3Ny');
  assert.deepEqual(s.groups, ['g1', 'g2']);
  // Sorted keys; the later entry of a repeated key wins.
  assert.equal(JSON.stringify(s.extra), '{"a":["a1","a2"],"z":["z2"]}');
  assert.deepEqual((d.object as any).status, {}, 'absent non-pointer struct prints as its zero value');
  assert.deepEqual(d.unknownFields, []);
});

test('inline structs, packed repeated varints and the Go zero values of absent fields', () => {
  // core/v1 Pod: a container's env var from a ConfigMapKeySelector (LocalObjectReference inline as field 1).
  const keyRef = msg(bf(1, msg(bf(1, 'cfg'))), bf(2, 'k'));
  const env = msg(bf(1, 'E'), bf(3, msg(bf(3, keyRef))));
  const container = msg(bf(1, 'c'), bf(2, 'img'), bf(7, env));
  // Pod spec: containers (2); securityContext (14) with supplementalGroups (4, []int64) packed.
  const spec = msg(
    bf(2, container),
    bf(14, msg(bf(4, Buffer.concat([varint(1), varint(2), varint(2n ** 60n)])))),
  );
  const d = decodeObject(envelope('v1', 'Pod', msg(bf(1, objectMeta('p', 'n')), bf(2, spec))), { key: 'k' });
  const o = d.object as any;
  assert.deepEqual(o.spec.containers[0].env[0], {
    name: 'E',
    valueFrom: { configMapKeyRef: { name: 'cfg', key: 'k' } },
  });
  assert.deepEqual(o.spec.securityContext.supplementalGroups, [1, 2, 2n ** 60n]);
  assert.ok(stringifyJson(o, 0).includes(`"supplementalGroups":[1,2,${2n ** 60n}]`));
  assert.equal(o.spec.containers[0].resources !== undefined, true, 'non-omitempty struct prints as {}');
  assert.deepEqual(o.spec.containers[0].resources, {});
});

test('resourceVersion lands at its ObjectMeta position, also when metadata is absent or the kind unknown', () => {
  const withMeta = decodeObject(envelope('v1', 'ConfigMap', msg(bf(1, objectMeta('a', 'n')))), {
    key: 'k',
    modRevision: 77n,
  });
  assert.deepEqual(Object.keys(withMeta.object.metadata as object), [
    'name',
    'namespace',
    'uid',
    'resourceVersion',
    'creationTimestamp',
  ]);
  const noMeta = decodeObject(envelope('v1', 'ConfigMap', mapEntry(2, 'x', 'y')), {
    key: 'k',
    modRevision: 5n,
  });
  assert.deepEqual(noMeta.object.metadata, { resourceVersion: '5' });
  const unknownKind = decodeObject(
    envelope('example.com/v1', 'Thing', msg(bf(1, objectMeta('t', 'n', [bf(40, 'odd')])), bf(2, 'x'))),
    { key: 'k', modRevision: 6n },
  );
  assert.equal((unknownKind.object.metadata as any).resourceVersion, '6');
  assert.deepEqual(
    unknownKind.unknownFields.map((u) => [u.path, u.num]),
    [
      ['.metadata', 40],
      ['.', 0],
    ],
  );
});

test('unknown fields: reported with their path, grouped by field number in order of first appearance', () => {
  const meta = objectMeta('a', 'n', [vf(60, 7)]);
  const raw = msg(
    bf(1, meta),
    vf(99, 1),
    bigTag(2n ** 40n, 0, varint(5)),
    vf(99, 2),
    bf(98, Buffer.from([0xab])),
  );
  const d = decodeObject(envelope('v1', 'ConfigMap', raw), { key: 'k' });
  assert.deepEqual(
    d.unknownFields.map((u) => [u.path, u.num, u.value]),
    [
      ['.metadata', 60, '7'],
      ['.', 99, '1'],
      ['.', 99, '2'],
      ['.', 2 ** 40, '5'],
      ['.', 98, 'ab'],
    ],
  );
});

test('plans are compiled per schema: a decode with another schema instance gives the same output', () => {
  const other = new KubeSchema(kubeSchema().doc);
  const v = envelope('v1', 'ConfigMap', msg(bf(1, objectMeta('a', 'n')), mapEntry(2, 'k', 'v')));
  const a = decodeObject(v, { key: 'k', modRevision: 3n });
  const b = decodeObject(v, { key: 'k', modRevision: 3n, schema: other });
  assert.equal(stringifyJson(b.object, 0), stringifyJson(a.object, 0));
});

test('a Uint8Array value (not a Buffer) decodes the same', () => {
  const v = envelope('v1', 'ConfigMap', msg(bf(1, objectMeta('a', 'n')), mapEntry(2, 'k', 'v')));
  const copy = new Uint8Array(v.length + 8).subarray(4, 4 + v.length);
  copy.set(v);
  assert.equal(
    stringifyJson(decodeObject(copy, { key: 'k' }).object, 0),
    stringifyJson(decodeObject(v, { key: 'k' }).object, 0),
  );
});

test('CBOR: the fast reader and the lenient one agree; invalid UTF-8 text, tags and stray breaks read as before', () => {
  const te = new TextEncoder();
  const m = new Map<unknown, unknown>([
    [te.encode('b'), te.encode('\ufeffbom kept')],
    ['a', [1, -2, 2n ** 60n, 1.5, null, true]],
    [te.encode('big'), -(2n ** 63n)],
  ]);
  const bytes = Buffer.concat([Buffer.from([0xd9, 0xd9, 0xf7]), Buffer.from(encodeCbor(m))]);
  assert.equal(
    stringifyJson(parseCbor(bytes), 0),
    `{"a":[1,-2,${2n ** 60n},1.5,null,true],"b":"\ufeffbom kept","big":${-(2n ** 63n)}}`,
  );
  // A text string (major type 3) holding 0xff: Kubernetes' CBOR decoder refuses it, and so does Lifeboat.
  assert.throws(() => parseCbor(Buffer.from([0x63, 0xf3, 0x74, 0x72])));
  // Tag 99 around 5: read by cbor2, whose tag contents are kept.
  assert.equal(parseCbor(Buffer.from([0xd8, 0x63, 0x05])), 5);
  // A map whose value is a stray break code: refused, as before.
  assert.throws(() => parseCbor(Buffer.from('a34163014132005161a2613280623130813b000000ffffffffff', 'hex')));
});
