/**
 * The CLI output and exit contract (docs/cli-contract.md), golden-tested: each case's exit code, stdout and
 * stderr must equal test/golden/cli/<case>.txt. LIFEBOAT_UPDATE_GOLDEN=1 rewrites the files.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { groups } from '../../../src/cli/groups.js';
import { lifeboatVersion, packageRoot } from '../../../src/util/version.js';
import { lifeboatBin, runCli } from '../../helpers/cli.js';

const cases: Array<{ name: string; args: string[] }> = [
  { name: 'version', args: ['--version'] },
  { name: 'unknown-flag', args: ['--bogus'] },
  { name: 'unknown-command', args: ['frobnicate'] },
  { name: 'bad-flag-value', args: ['harness', 'up', '--etcd-members', '2'] },
  { name: 'missing-argument-value', args: ['harness', 'up', '--etcd-members'] },
  { name: 'missing-file', args: ['snapshot', 'status', 'test/fixtures/cli/no-such-snapshot.db'] },
  { name: 'corrupt-file', args: ['snapshot', 'status', 'test/fixtures/cli/not-a-snapshot.bin'] },
  { name: 'unknown-subcommand', args: ['snapshot', 'frobnicate'] },
];

for (const c of cases) {
  test(`golden: lifeboat ${c.args.join(' ')}`, async () => {
    const r = await runCli(c.args);
    const actual = `exit: ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`.replaceAll(
      lifeboatVersion(),
      '<VERSION>',
    );
    const file = join(packageRoot(), 'test', 'golden', 'cli', `${c.name}.txt`);
    if (process.env.LIFEBOAT_UPDATE_GOLDEN) writeFileSync(file, actual);
    assert.equal(actual, readFileSync(file, 'utf8'));
  });
}

test('errors are exactly one line on stderr, and --debug adds the stack trace', async () => {
  const plain = await runCli(['harness', 'up', '--etcd-members', '4']);
  assert.equal(plain.code, 2);
  assert.equal(plain.stdout, '');
  assert.equal(plain.stderr.trimEnd().split('\n').length, 1, plain.stderr);
  const debug = await runCli(['--debug', 'harness', 'up', '--etcd-members', '4']);
  assert.equal(debug.code, 2);
  assert.match(debug.stderr, /^lifeboat: error: --etcd-members: expected 1, 3 or 5, got '4'\n/);
  assert.match(debug.stderr, /\n\s+at /, 'a stack trace follows with --debug');
});

test('--help lists every command group with its summary and examples, on stdout, exit 0', async () => {
  const r = await runCli(['--help']);
  assert.equal(r.code, 0);
  assert.equal(r.stderr, '');
  for (const g of groups) {
    assert.match(
      r.stdout,
      new RegExp(`\\n  ${g.name}\\s+${g.summary.slice(0, 20).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
    );
    for (const e of g.examples) assert.ok(r.stdout.includes(`$ ${e}`), `example '${e}' missing from --help`);
  }
  assert.match(r.stdout, /Exit codes: 0 ok, 1 failed, 2 usage/);
});

test('start-up stays fast: --version does not load command modules', async () => {
  const t0 = process.hrtime.bigint();
  const r = await runCli(['--version']);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  assert.equal(r.code, 0);
  assert.equal(r.stdout.trim(), lifeboatVersion());
  assert.ok(ms < 3000, `--version took ${ms.toFixed(0)} ms`);
});

test('a reader that goes away (| head) ends the command quietly: exit 0, nothing on stderr', async () => {
  const snap = join(packageRoot(), 'test', 'fixtures', 'snapshot', 'small.snap');
  const child = spawn(lifeboatBin(), ['kv', 'get', '', '--from-key', '--from', snap], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The read end is closed before the command writes: its first write meets EPIPE.
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(stderr, '');
  assert.equal(code, 0);
});
