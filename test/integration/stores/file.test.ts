/** The repository conformance suite against the directory repository. */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { FileRepository } from '../../../src/stores/file.js';
import { repositoryConformance } from '../../helpers/repo-conformance.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

repositoryConformance(
  'file',
  async () => {
    const d = mkdtempSync(join(tmpdir(), 'lifeboat-repo-'));
    dirs.push(d);
    return FileRepository.open(join(d, 'repo'));
  },
  {
    incompleteUploads: async (r) => (r as FileRepository).partialUploads(),
  },
);

test('file: objects are 0600 and temp files never show in listings', async () => {
  const d = mkdtempSync(join(tmpdir(), 'lifeboat-repo-'));
  dirs.push(d);
  const r = await FileRepository.open(d);
  await r.put('a/b', Buffer.from('x'));
  assert.equal(statSync(join(d, 'a', 'b')).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(join(d, '.tmp')), []);
  assert.deepEqual(
    (await r.list('')).map((o) => o.key),
    ['a/b'],
  );
});

test('file: each chunk of a stream body is handed back (release) once written, in order', async () => {
  const d = mkdtempSync(join(tmpdir(), 'lifeboat-repo-'));
  dirs.push(d);
  const r = await FileRepository.open(d);
  const chunks = [Buffer.alloc(1000, 1), Buffer.alloc(2000, 2), Buffer.alloc(3, 3)];
  const released: Uint8Array[] = [];
  await r.put('x', Readable.from(chunks), {
    release: (c) => {
      released.push(c);
      // The caller may now reuse the memory: what is on disk must not change.
      c.fill(9);
    },
  });
  assert.equal(released.length, 3);
  for (const [i, c] of chunks.entries()) assert.equal(released[i], c);
  const stored = await r.getBytes('x');
  assert.ok(stored.equals(Buffer.concat([Buffer.alloc(1000, 1), Buffer.alloc(2000, 2), Buffer.alloc(3, 3)])));
});
