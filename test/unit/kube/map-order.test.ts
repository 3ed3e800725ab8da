/* eslint-disable @typescript-eslint/no-explicit-any -- assertions reach into decoded JSON documents */
/**
 * Map keys print in Go's order and `__proto__` is an ordinary key. kube-apiserver serves protobuf-stored maps
 * and every level of a custom resource sorted by the keys' UTF-8 bytes ("10" < "2" < "__proto__" < "b";
 * U+E000 before U+1F600), as observed against a real kube-apiserver; raw JSON (RawExtension, FieldsV1,
 * apiextensions JSON) keeps its written order. JavaScript objects list integer-like keys first in numeric
 * order and treat `__proto__` as the prototype, so these tests fail with plain objects.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encode as encodeCbor } from 'cbor2';
import { decodeObject } from '../../../src/kube/decode.js';
import { toGoYaml } from '../../../src/kube/go-yaml.js';
import { parseLosslessJson } from '../../../src/kube/json-value.js';
import { renderDocument } from '../../../src/kube/present.js';
import { redactSecret } from '../../../src/kube/redact.js';
import { goStringCompare, orderedObject, stringifyJson } from '../../../src/util/json.js';
import { bf, envelope, mapEntry, msg, objectMeta } from '../../helpers/protobuf.js';

const EMOJI = '\u{1F600}';

test('Go string order is UTF-8 byte order: integer-like keys as text, U+E000 before characters beyond U+FFFF', () => {
  const keys = ['b', EMOJI, '2', '\ue000', '__proto__', '10', 'a', ''];
  const goOrder = [...keys].sort(goStringCompare);
  const byBytes = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
  assert.deepEqual(goOrder, byBytes);
  assert.deepEqual(goOrder, ['', '10', '2', '__proto__', 'a', 'b', '\ue000', EMOJI]);
});

test('a protobuf ConfigMap: integer-like and __proto__ map keys print in Go order', () => {
  const raw = msg(
    bf(
      1,
      objectMeta('cfg', 'ns1', [mapEntry(11, 'b', 'x'), mapEntry(11, '10', 'y'), mapEntry(11, '2', 'z')]),
    ),
    mapEntry(2, 'b', '1'),
    mapEntry(2, '__proto__', '4'),
    mapEntry(2, '2', '3'),
    mapEntry(2, '10', '2'),
  );
  const d = decodeObject(envelope('v1', 'ConfigMap', raw), { key: '/registry/configmaps/ns1/cfg' });
  const text = stringifyJson(d.object, 0);
  assert.match(text, /"labels":\{"10":"y","2":"z","b":"x"\}/);
  assert.match(text, /"data":\{"10":"2","2":"3","__proto__":"4","b":"1"\}/);
  const data = d.object.data as any;
  assert.deepEqual(Object.keys(data).sort(), ['10', '2', '__proto__', 'b']);
  assert.equal(Object.getOwnPropertyDescriptor(data, '__proto__')?.value, '4');
});

test('a JSON custom resource prints every level sorted in Go order, __proto__ kept, whatever the stored order', () => {
  const stored =
    '{"kind":"Thing","apiVersion":"exp.example.com/v1","metadata":{"name":"t1","labels":{"b":"x","10":"y","2":"z"}},' +
    `"spec":{"zeta":1,"b":{"__proto__":{"q":1},"10":1,"2":2,"a":3},"alpha":[{"y":1,"x":2}],"${EMOJI}":2,"\\ue000":1}}`;
  const d = decodeObject(Buffer.from(stored), { key: '/registry/exp.example.com/things/t1' });
  // kube-apiserver's answer for the same object (observed), less the fields a real object has on top.
  assert.equal(
    stringifyJson(d.object, 0),
    '{"apiVersion":"exp.example.com/v1","kind":"Thing","metadata":{"labels":{"10":"y","2":"z","b":"x"},"name":"t1"},' +
      `"spec":{"alpha":[{"x":2,"y":1}],"b":{"10":1,"2":2,"__proto__":{"q":1},"a":3},"zeta":1,"\ue000":1,"${EMOJI}":2}}`,
  );
  // The same with a 64-bit integer (the lossless parser's path) and as CBOR.
  const big = stored.replace('"zeta":1', '"zeta":9007199254740993');
  const want = stringifyJson(d.object, 0).replace('"zeta":1', '"zeta":9007199254740993');
  assert.equal(stringifyJson(decodeObject(Buffer.from(big), { key: 'k' }).object, 0), want);
  const cbor = Buffer.concat([Buffer.from([0xd9, 0xd9, 0xf7]), encodeCbor(JSON.parse(stored))]);
  assert.equal(stringifyJson(decodeObject(cbor, { key: 'k' }).object, 0), stringifyJson(d.object, 0));
});

test('raw JSON keeps its written key order, integer-like and escaped keys included', () => {
  for (const text of [
    '{"b":1,"10":2,"2":{"z":0,"1":[{"3":3,"a":4}]},"__proto__":5}',
    '{"\\u0031":1,"a":2,"0":3}',
    '{"\\u0000x":1,"2":2,"\\u00002":3}',
    '{"n":1234567890123456789,"7":1,"__proto__":{"5":1,"4":2}}',
  ]) {
    const v = parseLosslessJson(text);
    assert.equal(stringifyJson(v, 0), canonical(text));
  }
});

/** The text with escapes of plain characters undone, as a re-serialization prints it. */
function canonical(text: string): string {
  return text.replace(/\\u0031/g, '1');
}

test('kubectl-style -o json sorts every level in Go order and keeps __proto__; -o yaml keeps __proto__', () => {
  const o = parseLosslessJson(
    '{"kind":"ConfigMap","apiVersion":"v1","data":{"b":"1","10":"2","2":"3","__proto__":"4"}}',
  );
  const json = renderDocument([o as any], 'json', false);
  assert.equal(
    json.replace(/\s+/g, ''),
    '{"apiVersion":"v1","data":{"10":"2","2":"3","__proto__":"4","b":"1"},"kind":"ConfigMap"}',
  );
  const yaml = toGoYaml(o);
  assert.match(yaml, /__proto__: "4"/);
});

test('redaction keeps every Secret key, __proto__ and integer-like keys in order', () => {
  const raw = msg(
    bf(1, objectMeta('s', 'ns1', [])),
    mapEntry(2, '__proto__', 'c2VjcmV0'),
    mapEntry(2, '10', 'eA=='),
    mapEntry(2, '2', 'eQ=='),
  );
  const d = decodeObject(envelope('v1', 'Secret', raw), { key: '/registry/secrets/ns1/s' });
  const r = redactSecret(d.object);
  assert.match(
    stringifyJson(r, 0),
    /"data":\{"10":"REDACTED\(sha256:[0-9a-f]{8}\)","2":"REDACTED\(sha256:[0-9a-f]{8}\)","__proto__":"REDACTED\(sha256:[0-9a-f]{8}\)"\}/,
  );
});

test('stringifyJson prints exactly what JSON.stringify prints, bigints as digits, ordered objects in their order', () => {
  let seed = 7;
  const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const gen = (depth: number): unknown => {
    switch (depth > 3 ? rnd(4) : rnd(7)) {
      case 0:
        return rnd(3) === 0 ? -rnd(1e6) / 7 : rnd(1e9);
      case 1:
        return ['', 'a"b', 'é\n\u2028', '\u0000', EMOJI][rnd(5)];
      case 2:
        return [true, false, null][rnd(3)];
      case 3:
        return [undefined, NaN, Infinity, new Date(0)][rnd(4)];
      case 4:
        return Array.from({ length: rnd(4) }, () => gen(depth + 1));
      default: {
        const o: Record<string, unknown> = {};
        for (let i = rnd(5); i > 0; i--)
          o[['k', 'x y', '', 'z', 'a-b'][rnd(5)]! + String(rnd(3))] = gen(depth + 1);
        return o;
      }
    }
  };
  for (let i = 0; i < 300; i++) {
    const doc = { top: gen(0), more: gen(1), bigs: [2n ** 64n] };
    for (const indent of [0, 2, 4]) {
      const want = JSON.stringify(
        doc,
        (_k, v: unknown) => (typeof v === 'bigint' ? '@@big' : v),
        indent,
      ).replace('"@@big"', '18446744073709551616');
      assert.equal(stringifyJson(doc, indent), want);
    }
  }
  const o = orderedObject(['b', '10', '2'], [1, 2, 3]);
  assert.equal(
    stringifyJson({ o, n: 1n }, 2),
    '{\n  "o": {\n    "b": 1,\n    "10": 2,\n    "2": 3\n  },\n  "n": 1\n}',
  );
  // Outside stringifyJson an ordered object still prints (in JavaScript's order).
  assert.equal(JSON.stringify(o), '{"2":3,"10":2,"b":1}');
});
