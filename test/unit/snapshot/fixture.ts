/** The small real etcd 3.6 snapshot the unit tests read (test/fixtures/snapshot/make-fixture.sh). */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../../src/util/version.js';

export const FIXTURE = join(packageRoot(), 'test', 'fixtures', 'snapshot', 'small.snap');

export interface FixtureFacts {
  head: number;
  compacted: number;
  lease: string;
  hashkv: number;
  etcdutl36: { hash: number; revision: number; totalKey: number; totalSize: number; version: string };
}

export const FACTS = JSON.parse(
  readFileSync(join(packageRoot(), 'test', 'fixtures', 'snapshot', 'small.json'), 'utf8'),
) as FixtureFacts;

/** A scratch directory removed by the returned function. */
export function scratch(): { dir: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-unit-snap-'));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A copy of the fixture, optionally changed by `mutate`. */
export function fixtureCopy(dir: string, name: string, mutate?: (b: Buffer) => Buffer): string {
  const p = join(dir, name);
  if (!mutate) copyFileSync(FIXTURE, p);
  else writeFileSync(p, mutate(Buffer.from(readFileSync(FIXTURE))), { mode: 0o600 });
  return p;
}
