/* eslint-disable @typescript-eslint/no-explicit-any -- assertions reach into decoded JSON documents */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encode as encodeCbor } from 'cbor2';
import { crdV1beta1ToV1 } from '../../../src/kube/crd.js';
import { decodeObject, NotAnObjectError, storageEncoding } from '../../../src/kube/decode.js';
import { formatGoDuration, formatRfc3339, formatRfc3339Micro } from '../../../src/kube/go-format.js';
import { parseMessage, readVarint } from '../../../src/kube/protowire.js';
import { kubeSchema } from '../../../src/kube/schema.js';
import { stringifyJson } from '../../../src/util/json.js';
import { bf, envelope, mapEntry, msg, objectMeta, varint, vf } from '../../helpers/protobuf.js';

test('varints: multi-byte, 64-bit and negative int32 sign extension', () => {
  assert.deepEqual(readVarint(varint(300), 0, 'x'), [300n, 2]);
  assert.deepEqual(readVarint(varint(2n ** 63n + 5n), 0, 'x')[0], 2n ** 63n + 5n);
  assert.equal(readVarint(varint(-1), 0, 'x')[1], 10);
  assert.throws(() => parseMessage(Buffer.from([0x0a, 0x05, 0x01]), 'k'), /runs past the end/);
});

test('Go text forms: durations and times', () => {
  assert.equal(formatGoDuration(0n), '0s');
  assert.equal(formatGoDuration(1_500_000_000n), '1.5s');
  assert.equal(formatGoDuration(3_600_000_000_000n), '1h0m0s');
  assert.equal(formatGoDuration(90_000_000_000n), '1m30s');
  assert.equal(formatGoDuration(2_500_000n), '2.5ms');
  assert.equal(formatGoDuration(-1500n), '-1.5µs');
  assert.equal(formatRfc3339(1704164645n), '2024-01-02T03:04:05Z');
  assert.equal(formatRfc3339Micro(1704164645n, 123456789), '2024-01-02T03:04:05.123456Z');
});

test('a protobuf ConfigMap prints as the apiserver JSON: order, maps sorted, bytes base64, resourceVersion', () => {
  const raw = msg(
    bf(1, objectMeta('cfg', 'ns1', [mapEntry(11, 'b', '2'), mapEntry(11, 'a', '1')])),
    mapEntry(2, 'mode', 'blue'),
    bf(3, msg(bf(1, 'bin'), bf(2, Buffer.from([0, 1, 255])))),
  );
  const d = decodeObject(envelope('v1', 'ConfigMap', raw), {
    key: '/registry/configmaps/ns1/cfg',
    modRevision: 42n,
  });
  assert.equal(d.encoding, 'protobuf');
  assert.deepEqual(d.unknownFields, []);
  assert.equal(
    JSON.stringify(d.object),
    JSON.stringify({
      kind: 'ConfigMap',
      apiVersion: 'v1',
      metadata: {
        name: 'cfg',
        namespace: 'ns1',
        uid: 'uid-1',
        resourceVersion: '42',
        creationTimestamp: '2024-01-02T03:04:05Z',
        labels: { a: '1', b: '2' },
      },
      data: { mode: 'blue' },
      binaryData: { bin: 'AAH/' },
    }),
  );
});

test('special types: IntOrString, Quantity, pointers, nil slices, int64 beyond 2^53, zero Time omitted', () => {
  // apps/v1 Deployment: spec.replicas (*int32) present as 0, strategy.rollingUpdate.maxSurge "25%", maxUnavailable 1.
  const strategy = msg(
    bf(1, 'RollingUpdate'),
    bf(2, msg(bf(1, msg(vf(1, 0), vf(2, 1))), bf(2, msg(vf(1, 1), bf(3, '25%'))))),
  );
  const container = msg(bf(1, 'c'), bf(2, 'img'), bf(8, msg(mapEntry(2, 'cpu', msg(bf(1, '250m'))))));
  const template = msg(bf(1, msg()), bf(2, msg(bf(2, container))));
  const spec = msg(vf(1, 0), bf(2, msg()), bf(3, template), bf(4, strategy), vf(6, 5));
  const d = decodeObject(envelope('apps/v1', 'Deployment', msg(bf(1, objectMeta('d', 'ns')), bf(2, spec))), {
    key: 'k',
  });
  const o = d.object as any;
  assert.equal(o.spec.replicas, 0);
  assert.deepEqual(o.spec.strategy, {
    type: 'RollingUpdate',
    rollingUpdate: { maxUnavailable: 1, maxSurge: '25%' },
  });
  assert.deepEqual(o.spec.template.spec.containers[0].resources, { requests: { cpu: '250m' } });
  // ObjectMeta.creationTimestamp is omitempty,omitzero since v0.34: the zero Time is left out.
  assert.equal(o.spec.template.metadata.creationTimestamp, undefined);
  assert.deepEqual(o.spec.template.metadata, {});
  assert.equal(o.spec.revisionHistoryLimit, 5);
  // int64 beyond 2^53 (ControllerRevision.revision) stays exact; RawExtension prints its embedded JSON.
  const cr = msg(
    bf(1, objectMeta('r', 'ns')),
    bf(2, msg(bf(1, '{"a":[1,2.5,null],"n":12345678901234567}'))),
    vf(3, 2n ** 60n + 1n),
  );
  const r = decodeObject(envelope('apps/v1', 'ControllerRevision', cr), { key: 'k' }).object as any;
  assert.equal(r.revision, 2n ** 60n + 1n);
  assert.deepEqual(r.data, { a: [1, 2.5, null], n: 12345678901234567n });
  assert.ok(stringifyJson(r).includes(`"revision": ${2n ** 60n + 1n}`));
  assert.deepEqual(o.status, {});
  assert.equal(o.spec.template.spec.containers[0].ports, undefined, 'nil omitempty slice omitted');
});

test('fields unknown to the schema are kept and flagged; unknown kinds still show metadata', () => {
  const raw = msg(bf(1, objectMeta('cfg', 'ns1')), bf(99, 'mystery'));
  const d = decodeObject(envelope('v1', 'ConfigMap', raw), { key: 'k' });
  assert.deepEqual(
    d.unknownFields.map((u) => [u.path, u.num]),
    [['.', 99]],
  );
  const u = decodeObject(envelope('example.com/v9', 'Thing', msg(bf(1, objectMeta('t', '')), bf(2, 'x'))), {
    key: 'k',
  });
  assert.equal(u.typeKnown, false);
  assert.equal((u.object.metadata as any).name, 't');
});

test('storage encodings are told apart by their first bytes; non-objects fail clearly', () => {
  assert.equal(storageEncoding(Buffer.from('k8s\0x', 'latin1')), 'protobuf');
  assert.equal(storageEncoding(Buffer.from('{"a":1}')), 'json');
  assert.equal(storageEncoding(Buffer.from([0xd9, 0xd9, 0xf7, 0xa0])), 'cbor');
  assert.equal(storageEncoding(Buffer.from('k8s:enc:aescbc:v1:key1:xxxx')), 'encrypted');
  assert.equal(storageEncoding(Buffer.from('231840')), 'other');
  assert.throws(() => decodeObject(Buffer.from('231840'), { key: 'compact_rev_key' }), NotAnObjectError);
  assert.throws(
    () => decodeObject(Buffer.from('k8s:enc:kms:v2:prov:xx'), { key: 'k' }),
    /provider kms v2, key prov/,
  );
});

test('JSON custom resources keep 64-bit integers exact; CBOR with byte-string keys decodes the same', () => {
  const json =
    '{"apiVersion":"x.example.com/v1","kind":"W","metadata":{"name":"w"},"spec":{"big":9007199254740993,"f":0.5}}';
  const d = decodeObject(Buffer.from(json), { key: 'k', modRevision: 7n });
  assert.equal((d.object.spec as any).big, 9007199254740993n);
  assert.equal((d.object.metadata as any).resourceVersion, '7');
  const te = new TextEncoder();
  const m = new Map<Uint8Array, unknown>([
    [te.encode('apiVersion'), te.encode('x.example.com/v1')],
    [te.encode('kind'), te.encode('W')],
    [te.encode('metadata'), new Map([[te.encode('name'), te.encode('w')]])],
    [
      te.encode('spec'),
      new Map<Uint8Array, unknown>([
        [te.encode('big'), 9007199254740993n],
        [te.encode('f'), 0.5],
      ]),
    ],
  ]);
  const cbor = Buffer.concat([Buffer.from([0xd9, 0xd9, 0xf7]), Buffer.from(encodeCbor(m))]);
  const c = decodeObject(cbor, { key: 'k', modRevision: 7n });
  assert.equal(c.encoding, 'cbor');
  assert.deepEqual(c.object, d.object);
});

test('a stored v1beta1 CRD converts to v1: spec-level schema, subresources and columns move into versions', () => {
  const stored = {
    apiVersion: 'apiextensions.k8s.io/v1beta1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'ws.x.example.com' },
    spec: {
      group: 'x.example.com',
      version: 'v1',
      names: { plural: 'ws', kind: 'W' },
      scope: 'Namespaced',
      validation: { openAPIV3Schema: { type: 'object' } },
      subresources: { status: {} },
      additionalPrinterColumns: [{ name: 'Age', type: 'date', JSONPath: '.metadata.creationTimestamp' }],
      versions: [{ name: 'v1', served: true, storage: true }],
      conversion: { strategy: 'None' },
      preserveUnknownFields: false,
    },
    status: { storedVersions: ['v1'] },
  };
  const v1 = crdV1beta1ToV1(stored as any);
  assert.deepEqual((v1.spec as any).versions, [
    {
      name: 'v1',
      served: true,
      storage: true,
      additionalPrinterColumns: [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }],
      subresources: { status: {} },
      schema: { openAPIV3Schema: { type: 'object' } },
    },
  ]);
  assert.equal((v1.spec as any).names.singular, 'w');
  assert.equal((v1.spec as any).names.listKind, 'WList');
  const d = decodeObject(Buffer.from(JSON.stringify(stored)), { key: 'k' });
  assert.equal(d.apiVersion, 'apiextensions.k8s.io/v1');
  assert.equal(Object.keys(d.object.spec as object).join(','), 'group,names,scope,versions,conversion');
});

test('the committed schema covers every release from v0.24 and the pinned one', () => {
  const s = kubeSchema();
  assert.match(s.releases[0]!, /^v0\.24\./);
  assert.ok(s.kind('apps/v1', 'Deployment'));
  assert.ok(s.kind('apiextensions.k8s.io/v1beta1', 'CustomResourceDefinition'));
  assert.ok(s.kind('apiregistration.k8s.io/v1', 'APIService'));
});

test('fields only older releases have (ObjectMeta.clusterName, v0.24) decode from old data by their own rules', () => {
  const withEmpty = decodeObject(
    envelope('v1', 'ConfigMap', msg(bf(1, objectMeta('a', 'n', [bf(15, '')])))),
    { key: 'k' },
  );
  assert.equal((withEmpty.object.metadata as any).clusterName, undefined, 'omitempty drops the empty value');
  assert.deepEqual(withEmpty.unknownFields, []);
  const withValue = decodeObject(
    envelope('v1', 'ConfigMap', msg(bf(1, objectMeta('a', 'n', [bf(15, 'old')])))),
    { key: 'k' },
  );
  assert.equal((withValue.object.metadata as any).clusterName, 'old');
});
