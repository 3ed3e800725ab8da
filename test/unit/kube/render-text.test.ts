/**
 * The text path (render-text.ts, decodeObjectText) prints exactly what the object path prints —
 * stringifyJson(decodeObject(…).object, 0) and the same unknown-field reports — on hand-made values that
 * reach every branch (escapes, invalid UTF-8, long strings, maps out of order and with repeated keys, inline
 * fields, raw JSON that may and may not be copied as stored, unknown fields), and on mutated values (fuzz:
 * when the text path answers, the object path must give the same). isPrintedJson accepts only texts that
 * parsing and printing give back unchanged.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeObject, decodeObjectText, type ShowOptions } from '../../../src/kube/decode.js';
import { present } from '../../../src/kube/present.js';
import { parseLosslessJson } from '../../../src/kube/json-value.js';
import { isPrintedJson } from '../../../src/kube/text-out.js';
import { stringifyJson } from '../../../src/util/json.js';
import { bf, envelope, mapEntry, msg, objectMeta, vf } from '../../helpers/protobuf.js';
import { rng } from '../../helpers/rng.js';

const managed = (fieldsV1: string | Buffer, extra: Buffer[] = []): Buffer =>
  bf(
    17,
    msg(
      bf(1, 'kubectl'),
      bf(2, 'Apply'),
      bf(3, 'v1'),
      bf(4, msg(vf(1, 1704164645))),
      bf(6, 'FieldsV1'),
      bf(7, bf(1, fieldsV1)),
      ...extra,
    ),
  );

const LONG = `start "quoted" \\ back\u0001\n\tslash é ✓ 😀 ${'x'.repeat(300)} end`;

const RAW_JSON_CASES = [
  '{"f:data":{".":{},"f:a":{}},"f:metadata":{"f:labels":{".":{},"f:app":{}}}}',
  '{"f:b":{},"f:a":{}}', // keys out of order
  '{"f:a": {}}', // whitespace
  '{"f:a":{"\\u003c":{}}}', // an escape JSON.stringify would not write
  '{"n":1.0,"m":12345678901234567,"z":-0}', // numbers that print otherwise
  '{"a":1,"a":2}', // a repeated key
  '{"10":{},"2":{},"__proto__":{}}', // integer-like keys, __proto__
  '{"k":"tab\\there \\u0001 \\\\ \\"q\\" é"}',
  '[1,-2,true,false,null,[],{},"s"]',
  '{"bad": }',
  '{"x":"\\/"}',
];

function corpus(): Buffer[] {
  const out: Buffer[] = [];
  const weird = Buffer.concat([
    Buffer.from('in"va\\lid '),
    Buffer.from([0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80]),
    Buffer.from(' é'),
  ]);
  out.push(
    envelope(
      'v1',
      'ConfigMap',
      msg(
        bf(
          1,
          objectMeta('cm', 'ns', [
            mapEntry(11, 'b', '2'),
            mapEntry(11, 'a', '1'),
            mapEntry(11, 'a', 'again'),
            mapEntry(12, 'note', LONG),
            managed(RAW_JSON_CASES[0]!),
          ]),
        ),
        mapEntry(2, 'plain', 'value'),
        mapEntry(2, 'ctl', 'a\u0000b\u0008c\u000bd\u001fe\u007f'),
        mapEntry(2, 'long', LONG),
        mapEntry(2, 'bad', weird),
        mapEntry(2, 'longbad', Buffer.concat([weird, Buffer.alloc(300, 0x61)])),
        mapEntry(2, '10', 'ten'),
        mapEntry(2, '2', 'two'),
        mapEntry(3, 'bin', Buffer.from([0, 1, 2, 250, 255])),
        vf(4, true),
        bf(99, 'unknown field'),
      ),
    ),
  );
  for (const raw of RAW_JSON_CASES) {
    out.push(envelope('v1', 'ConfigMap', msg(bf(1, objectMeta('m', 'ns', [managed(raw)])))));
    out.push(
      envelope(
        'apps/v1',
        'ControllerRevision',
        msg(bf(1, objectMeta('cr', 'ns')), bf(2, bf(1, raw)), vf(3, 7)),
      ),
    );
  }
  out.push(
    envelope(
      'v1',
      'ConfigMap',
      msg(
        bf(
          1,
          objectMeta('m', 'ns', [managed(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x7b, 0x7d, 0x7d]))]),
        ),
      ),
    ),
  );
  // Inline fields (Volume's VolumeSource), quantities, ints, nested repeated messages, unknown fields below.
  const volume = (name: string, source: Buffer): Buffer => bf(1, msg(bf(1, name), bf(2, source)));
  const podSpec = msg(
    volume('scratch', bf(2, msg(bf(1, 'Memory'), bf(2, bf(1, '1Gi'))))),
    volume('host', bf(1, msg(bf(1, '/var/lib'), bf(2, 'Directory')))),
    volume('empty', Buffer.alloc(0)),
    bf(2, msg(bf(1, 'c'), bf(2, 'nginx:1.25'), bf(3, 'sh'), bf(3, '-c'), bf(77, 'unknown in container'))),
    vf(4, 30),
  );
  out.push(envelope('v1', 'Pod', msg(bf(1, objectMeta('p', 'ns')), bf(2, podSpec))));
  out.push(
    envelope(
      'apps/v1',
      'Deployment',
      msg(
        bf(1, objectMeta('web', 'shop')),
        bf(2, msg(vf(1, 3), bf(2, msg(mapEntry(1, 'z', '1'), mapEntry(1, 'app', 'web'))))),
      ),
    ),
  );
  out.push(
    envelope(
      'v1',
      'Secret',
      msg(bf(1, objectMeta('s', 'ns')), mapEntry(2, 'password', Buffer.from([0, 1, 255])), bf(3, 'Opaque')),
    ),
  );
  out.push(envelope('v1', 'ConfigMap', msg()));
  return out;
}

/** Where two texts first differ, with some context (assertion messages). */
function firstDiff(a: string, b: string): string {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return `at ${i}: …${a.slice(Math.max(0, i - 60), i + 60)}… vs …${b.slice(Math.max(0, i - 60), i + 60)}…`;
}

/** Everything shown (decodeObjectText's default), and as kubectl shows it (managedFields hidden). */
const SHOWS: (ShowOptions | undefined)[] = [undefined, { showSecrets: true }];

function check(value: Buffer, where: string, mustUseText: boolean): void {
  const key = '/registry/x/ns/name';
  for (const show of SHOWS) {
    const text = decodeObjectText(value, { key, modRevision: 42n }, show);
    if (mustUseText) assert.ok(text, `${where}: the text path answered`);
    if (!text) return;
    const d = decodeObject(value, { key, modRevision: 42n });
    const want = show ? present(d.object, show) : d.object;
    assert.equal(text.json, stringifyJson(want, 0), `${where}, ${JSON.stringify(show)}`);
    assert.deepEqual(text.unknownFields, d.unknownFields, where);
  }
}

test('the text path prints what the object path prints, on every branch', () => {
  const values = corpus();
  // The last one has no metadata to place resourceVersion in: that is left to the object path.
  values.forEach((v, i) => check(v, `value ${i}`, i < values.length - 1));
  assert.equal(decodeObjectText(values[values.length - 1]!, { key: 'k', modRevision: 1n }), undefined);
  // The cases really reach the branches: raw JSON copied and not copied, unknown fields reported.
  const first = decodeObjectText(values[0]!, { key: 'k' })!;
  assert.ok(first.unknownFields.length > 0);
  assert.match(first.json, /"f:data":\{"\.":\{\},"f:a":\{\}\}/);
  assert.match(first.json, /"bad":"in\\"va\\\\lid \ufffd/);
  assert.ok(first.json.includes(JSON.stringify(LONG)));
  // Hidden managedFields are left out of the text but their unknown fields are still reported.
  const hidden = decodeObjectText(values[0]!, { key: 'k' }, { showSecrets: true })!;
  assert.doesNotMatch(hidden.json, /managedFields/);
  assert.deepEqual(hidden.unknownFields, first.unknownFields);
});

test('fuzz: where the text path answers a mutated value, the object path gives the same text', () => {
  const seed = Number(process.env['LIFEBOAT_FUZZ_SEED'] ?? Date.now() % 100000);
  const r = rng(seed);
  const base = corpus();
  let answered = 0;
  for (let n = 0; n < 4000; n++) {
    const v = Buffer.from(base[Math.floor(r() * base.length)]!);
    const edits = 1 + Math.floor(r() * 3);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(r() * v.length);
      const pick = r();
      if (pick < 0.6) v[at] = Math.floor(r() * 256);
      else if (pick < 0.8) v[at] = v[at]! ^ (1 << Math.floor(r() * 8));
      else v[at] = [0x22, 0x5c, 0x7b, 0x7d, 0x20, 0x00, 0x80][Math.floor(r() * 7)]!;
    }
    const key = '/registry/x/ns/name';
    const show = SHOWS[n % SHOWS.length];
    const text = decodeObjectText(v, { key, modRevision: 7n }, show);
    if (!text) continue;
    answered++;
    let d;
    try {
      d = decodeObject(v, { key, modRevision: 7n });
    } catch (e) {
      assert.fail(
        `seed ${seed}, case ${n}: the text path answered but the object path threw ${(e as Error).message}`,
      );
    }
    const want = stringifyJson(show ? present(d.object, show) : d.object, 0);
    assert.ok(text.json === want, `seed ${seed}, case ${n}: ${firstDiff(text.json, want)}`);
    assert.deepEqual(text.unknownFields, d.unknownFields, `seed ${seed}, case ${n}`);
  }
  assert.ok(answered > 1000, `seed ${seed}: the text path answered only ${answered} of 4000`);
});

test('isPrintedJson accepts exactly what parsing and printing give back unchanged', () => {
  for (const t of RAW_JSON_CASES) {
    const b = Buffer.from(t);
    let printed: string | undefined;
    try {
      printed = stringifyJson(parseLosslessJson(t), 0);
    } catch {
      printed = undefined;
    }
    // Where it says yes, printing gives the text back; the cases above that print otherwise all say no.
    if (isPrintedJson(b, 0, b.length)) assert.equal(printed, t, t);
  }
  assert.equal(isPrintedJson(Buffer.from(RAW_JSON_CASES[0]!), 0, RAW_JSON_CASES[0]!.length), true);
  for (const i of [1, 2, 3, 4, 5, 9, 10]) {
    const b = Buffer.from(RAW_JSON_CASES[i]!);
    assert.equal(isPrintedJson(b, 0, b.length), false, RAW_JSON_CASES[i]);
  }
  // Bounds: the bytes after `end` are never read as part of the value.
  const b = Buffer.from('{"a":{}}}');
  assert.equal(isPrintedJson(b, 0, 8), true);
  assert.equal(isPrintedJson(b, 0, 7), false);
  // Fuzz: random small texts over JSON's alphabet.
  const seed = Number(process.env['LIFEBOAT_FUZZ_SEED'] ?? Date.now() % 100000);
  const r = rng(seed);
  const alphabet = [
    '{',
    '}',
    '[',
    ']',
    ',',
    ':',
    '"a"',
    '"b"',
    '"\\u0001"',
    '"\\n"',
    '"é"',
    '0',
    '1',
    '-1',
    '12',
    '1.5',
    'true',
    'null',
    ' ',
    '"\\u003c"',
  ];
  let yes = 0;
  for (let n = 0; n < 20000; n++) {
    let t = '';
    const len = 1 + Math.floor(r() * 12);
    for (let i = 0; i < len; i++) t += alphabet[Math.floor(r() * alphabet.length)];
    const buf = Buffer.from(t);
    if (!isPrintedJson(buf, 0, buf.length)) continue;
    yes++;
    assert.equal(stringifyJson(parseLosslessJson(t), 0), t, `seed ${seed}: ${t}`);
  }
  assert.ok(yes > 100, `seed ${seed}: only ${yes} texts accepted`);
});
