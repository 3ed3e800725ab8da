import assert from 'node:assert/strict';
import { test } from 'node:test';
import { goFloat, goYamlKeyCompare, resolvesAsNonString, toGoYaml } from '../../../src/kube/go-yaml.js';
import { goJsonEscape, renderDocument } from '../../../src/kube/present.js';
import { parseTargets } from '../../../src/cli/commands/get.js';

test('YAML 1.1 look-alikes are double-quoted, indicator clashes single-quoted, the rest plain', () => {
  for (const s of [
    'true',
    'yes',
    'on',
    'Off',
    'y',
    'N',
    '~',
    'null',
    '',
    '1.0',
    '0755',
    '0x1F',
    '1e3',
    '1_000',
    '-5',
    '.5',
    '12:30:45',
    '2024-01-02T03:04:05Z',
    '2024-1-2',
  ])
    assert.equal(toGoYaml({ k: s }), `k: "${s}"\n`, s);
  for (const s of ['*', '- x', 'a: b', ' lead', 'trail ', '&x', '!x', '@x', '#x', 'a #b', '---'])
    assert.equal(toGoYaml({ k: s }), `k: '${s}'\n`, s);
  for (const s of ['web', '1Gi', '100m', '25%', 'a:b', 'v1.2.3', 'a#b', '2024-13-01', '--flag=x', 'é'])
    assert.equal(toGoYaml({ k: s }), `k: ${s}\n`, s);
  assert.equal(resolvesAsNonString('0o17'), true);
  assert.equal(resolvesAsNonString('08'), true); // not octal, but a YAML float
  assert.equal(resolvesAsNonString('1Gi'), false);
  assert.equal(toGoYaml({ k: "it's *" }), "k: it's *\n");
  assert.equal(toGoYaml({ k: "'q" }), "k: '''q'\n");
});

test('layout: 2-space maps, sequences not indented under their key, empty collections in flow style', () => {
  const doc = { b: { x: [], y: {} }, a: [{ k: 'v', j: [1, 2] }, ['p', 'q']], c: null, d: 1.5, e: false };
  assert.equal(
    toGoYaml(doc),
    'a:\n- j:\n  - 1\n  - 2\n  k: v\n- - p\n  - q\nb:\n  x: []\n  "y": {}\nc: null\nd: 1.5\ne: false\n',
  );
});

test('multi-line strings: literal blocks with chomping and indentation hints; escapes force double quotes', () => {
  assert.equal(toGoYaml({ a: { k: 'x\ny\n' } }), 'a:\n  k: |\n    x\n    y\n');
  assert.equal(toGoYaml({ k: 'x\n\ny' }), 'k: |-\n  x\n\n  "y"\n'.replace('"y"', 'y'));
  assert.equal(toGoYaml({ k: 'x\n\n' }), 'k: |+\n  x\n\n');
  assert.equal(toGoYaml({ k: ' x\ny' }), 'k: |2-\n   x\n  y\n');
  assert.equal(toGoYaml({ k: 'x \ny' }), 'k: "x \\ny"\n');
  assert.equal(toGoYaml({ k: 'a\tb' }), 'k: "a\\tb"\n');
  assert.equal(toGoYaml({ k: 'smile 😀' }), 'k: "smile \\U0001F600"\n');
});

test('long values fold at the first space past column 80, continuation indented by 2', () => {
  const words = Array.from({ length: 30 }, (_, i) => `word${i}`).join(' ');
  const y = toGoYaml({ spec: { description: words } });
  const lines = y.split('\n');
  assert.equal(lines[1]!.startsWith('  description: word0 '), true);
  assert.ok(lines[1]!.length > 80 && lines[1]!.length < 90, lines[1]);
  assert.ok(lines[2]!.startsWith('    word'), lines[2]);
  assert.equal(y.replace(/\n {4}/g, ' '), `spec:\n  description: ${words}\n`);
});

test("key order is go-yaml's: digit runs compare as numbers, non-letters before letters", () => {
  const keys = ['item10', 'item9', 'b', 'a_x', 'aX', 'a-1', 'A'];
  assert.deepEqual([...keys].sort(goYamlKeyCompare), ['A', 'a-1', 'a_x', 'aX', 'b', 'item9', 'item10']);
  assert.equal(goFloat(1.5), '1.5');
  assert.equal(goFloat(1234567.5), '1.2345675e+06');
  assert.equal(goFloat(0.00001), '1e-05');
  assert.equal(goFloat(3), '3');
});

test('several objects print as a v1 List; JSON escapes <, > and & as Go does', () => {
  const y = renderDocument([{ kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'a' } }], 'yaml', true);
  assert.equal(
    y,
    'apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: a\nkind: List\nmetadata:\n  resourceVersion: ""\n',
  );
  assert.equal(goJsonEscape('{"a": "x<y>&z"}'), '{"a": "x\\u003cy\\u003e\\u0026z"}');
});

test('get arguments: TYPE[,TYPE] NAME..., or TYPE/NAME pairs only', () => {
  assert.deepEqual(parseTargets('deploy,cm', []), [
    { type: 'deploy', names: [] },
    { type: 'cm', names: [] },
  ]);
  assert.deepEqual(parseTargets('cm', ['a', 'b']), [{ type: 'cm', names: ['a', 'b'] }]);
  assert.deepEqual(parseTargets('cm/a', ['deploy/web']), [
    { type: 'cm', names: ['a'] },
    { type: 'deploy', names: ['web'] },
  ]);
  assert.throws(() => parseTargets('cm/a', ['b']), /resource\/name form/);
  assert.throws(() => parseTargets('cm,', []), /empty entries/);
  assert.throws(() => parseTargets('cm,deploy/a', []), /comma-separated/);
});
