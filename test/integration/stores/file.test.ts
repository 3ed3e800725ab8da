/** The repository conformance suite against the directory repository. */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
