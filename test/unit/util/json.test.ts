import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hexId, lifeboatDoc, stringifyJson, isIndexKey, orderedObject } from '../../../src/util/json.js';

test('stringifyJson prints int64 values digit-exact', () => {
  const lease = 7587862072423301636n; // above 2^53
  const text = stringifyJson({ lease, negative: -9223372036854775808n, small: 1 }, 0);
  assert.equal(text, '{"lease":7587862072423301636,"negative":-9223372036854775808,"small":1}');
  assert.notEqual(String(Number(lease)), lease.toString(), 'the value must be one a JS number cannot hold');
});

test('stringifyJson leaves strings that look like markers alone', () => {
  assert.equal(stringifyJson({ s: 'bigint:12' }, 0), '{"s":"bigint:12"}');
});

test('stringifyJson: documents without bigint print as JSON.stringify does; a bigint anywhere switches to exact digits', () => {
  const plain = { a: [1, 'x', null, { b: true, c: 1.5 }], s: '\u0000bigint:12', e: '' };
  assert.equal(stringifyJson(plain, 0), JSON.stringify(plain));
  assert.equal(stringifyJson(plain), JSON.stringify(plain, null, 2));
  assert.equal(stringifyJson(undefined), 'null');
  const deep = { list: [{ n: 1 }, { n: [2n ** 64n - 1n] }], after: 'ok' };
  assert.equal(stringifyJson(deep, 0), `{"list":[{"n":1},{"n":[${2n ** 64n - 1n}]}],"after":"ok"}`);
  const cyclic: { self?: unknown } = {};
  cyclic.self = cyclic;
  assert.throws(() => stringifyJson(cyclic), TypeError);
});

test('hexId prints uint64 ids in hex without loss', () => {
  assert.equal(hexId(0xfedcba9876543210n), 'fedcba9876543210');
});

test('lifeboatDoc puts apiVersion and kind first', () => {
  assert.deepEqual(Object.keys(lifeboatDoc('Backup', { id: 'x' })), ['apiVersion', 'kind', 'id']);
  assert.equal(lifeboatDoc('Backup', {}).apiVersion, 'lifeboat/v1alpha1');
});

test('orderedObject keeps the empty key before integer-like keys when given so (it is not an array index)', () => {
  assert.equal(isIndexKey(''), false);
  assert.equal(isIndexKey('2'), true);
  assert.equal(stringifyJson(orderedObject(['', '2', 'bad'], [1, 2, 3]), 0), '{"":1,"2":2,"bad":3}');
});
