import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeObject, type ShowOptions } from '../../../src/kube/decode.js';
import { present } from '../../../src/kube/present.js';
import { decodeManyJson, type StoredObject } from '../../../src/kube/decode-many.js';
import { stringifyJson } from '../../../src/util/json.js';
import { bf, envelope, mapEntry, msg, objectMeta } from '../../helpers/protobuf.js';

/** A metadata.managedFields entry (manager, operation, fieldsType, fieldsV1). */
const MANAGED = bf(
  17,
  msg(bf(1, 'kubectl'), bf(2, 'Apply'), bf(6, 'FieldsV1'), bf(7, msg(bf(1, '{"f:data":{}}')))),
);

function corpus(n: number): StoredObject[] {
  const out: StoredObject[] = [];
  for (let i = 0; i < n; i++) {
    const key = `/registry/configmaps/ns${i % 7}/cm-${i}`;
    let value: Buffer;
    if (i % 97 === 5) value = Buffer.from('not an object');
    else if (i % 3 === 0)
      value = Buffer.from(
        JSON.stringify({
          apiVersion: 'exp.example.com/v1',
          kind: 'Thing',
          metadata: { name: `t${i}` },
          spec: { n: i, [String(i % 11)]: 'x', big: 'y'.repeat(i % 5000) },
        }),
      );
    else if (i % 5 === 1)
      value = envelope(
        'v1',
        'Secret',
        msg(bf(1, objectMeta(`s-${i}`, `ns${i % 7}`)), mapEntry(2, 'password', `hunter${i}`)),
      );
    else
      value = envelope(
        'v1',
        'ConfigMap',
        msg(
          bf(1, objectMeta(`cm-${i}`, `ns${i % 7}`, i % 2 ? [MANAGED] : [])),
          mapEntry(2, `k${i}`, 'v'.repeat(i % 3000)),
          mapEntry(2, String(i), 'n'),
        ),
      );
    out.push({ key, value, modRevision: BigInt(1000 + i) });
  }
  return out;
}

function expected(o: StoredObject, show: ShowOptions): { json?: string; problem?: string } {
  try {
    const d = decodeObject(o.value, { key: o.key, modRevision: o.modRevision! });
    return { json: stringifyJson(present(d.object, show), 0) };
  } catch (e) {
    return { problem: (e as Error).message };
  }
}

test('decodeManyJson gives every object its decodeObject + present + stringifyJson text, in input order, on one or two threads', () => {
  const objects = corpus(3000);
  for (const [threads, show] of [
    [1, {}],
    [2, {}],
    [2, { showManagedFields: true, showSecrets: true }],
  ] as const) {
    const want = objects.map((o) => expected(o, show));
    const stats = { threads: 0, helped: 0 };
    // Values are handed over one at a time in reused memory, as a reader with transient values does.
    const scratch = Buffer.alloc(1 << 16);
    const reused = (function* () {
      for (const o of objects) {
        scratch.set(o.value);
        yield { key: o.key, value: scratch.subarray(0, o.value.length), modRevision: o.modRevision };
        scratch.fill(0);
      }
    })();
    const got = [...decodeManyJson(reused, { threads, helperAfter: 0, stats, show })];
    assert.equal(got.length, objects.length);
    for (let i = 0; i < objects.length; i++) {
      assert.equal(got[i]!.key, objects[i]!.key);
      assert.equal(got[i]!.modRevision, objects[i]!.modRevision);
      assert.equal(got[i]!.json, want[i]!.json, `${threads} threads, ${JSON.stringify(show)}, object ${i}`);
      assert.equal(got[i]!.problem, want[i]!.problem);
    }
    // The corpus really holds what `show` changes.
    const texts = got.map((g) => g.json ?? '').join('\n');
    assert.equal(texts.includes('"managedFields"'), show.showManagedFields === true);
    // (base64 of "hunter")
    assert.equal(texts.includes('"password":"aHVudGVy'), show.showSecrets === true);
    assert.equal(texts.includes('REDACTED(sha256:'), show.showSecrets !== true);
    // The helper thread really decoded part of them (a helper that never starts leaves all work here).
    assert.equal(stats.threads, threads);
    if (threads === 2) assert.ok(stats.helped > 0, `helper decoded ${stats.helped} objects`);
    else assert.equal(stats.helped, 0);
  }
});

test('decodeManyJson stops its helper when the caller stops early', () => {
  const objects = corpus(2000);
  let n = 0;
  for (const d of decodeManyJson(objects, { threads: 2, helperAfter: 0 })) {
    assert.equal(d.key, objects[n]!.key);
    if (++n === 700) break;
  }
  assert.equal(n, 700);
});
