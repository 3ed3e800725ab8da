import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AtomicFile, writeFileAtomic } from '../../../src/util/atomic-file.js';
import { ExitCode, RefusedError } from '../../../src/util/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-atomic-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('writes 0600 and leaves no .part behind', async () => {
  const p = join(dir, 'a.db');
  await writeFileAtomic(p, 'hello');
  assert.equal(readFileSync(p, 'utf8'), 'hello');
  assert.equal(statSync(p).mode & 0o777, 0o600);
  assert.equal(existsSync(`${p}.part`), false);
});

test('refuses to overwrite an existing file without force, with exit code 6', async () => {
  const p = join(dir, 'b.db');
  writeFileSync(p, 'old');
  await assert.rejects(writeFileAtomic(p, 'new'), (err: unknown) => {
    assert.ok(err instanceof RefusedError);
    assert.equal(err.exitCode, ExitCode.refused);
    assert.match(err.message, /--force/);
    return true;
  });
  assert.equal(readFileSync(p, 'utf8'), 'old');
  await writeFileAtomic(p, 'new', { force: true });
  assert.equal(readFileSync(p, 'utf8'), 'new');
});

test('abort removes the .part file and never creates the destination', async () => {
  const p = join(dir, 'c.db');
  const f = await AtomicFile.open(p);
  await f.write(new Uint8Array([1, 2, 3]));
  assert.equal(existsSync(`${p}.part`), true);
  await f.abort();
  assert.equal(existsSync(`${p}.part`), false);
  assert.equal(existsSync(p), false);
});
