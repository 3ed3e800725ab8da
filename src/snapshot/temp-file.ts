/**
 * Temporary files for decompressed inputs: created 0600 in a private 0700 directory, after checking the
 * free space, and removed on exit, on errors and on signals (src/util/cleanup.ts).
 */
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onCleanup } from '../util/cleanup.js';
import { RefusedError } from '../util/errors.js';

export interface TempFile {
  path: string;
  /** Removes the file and its directory now (also done automatically on exit). */
  remove(): void;
}

/** The directory temp files go to: $LIFEBOAT_TMPDIR, else the OS temp dir. */
export function tempRoot(): string {
  return process.env.LIFEBOAT_TMPDIR || tmpdir();
}

export function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return Number(s.bavail) * Number(s.bsize);
}

/**
 * Reserves a temp file path for `expectedBytes` of data; refuses when the file system has less free space
 * than that plus 64 MiB.
 */
export function createTempFile(name: string, expectedBytes: number, root = tempRoot()): TempFile {
  const free = freeBytes(root);
  const need = expectedBytes + (64 << 20);
  if (free < need) {
    throw new RefusedError(
      `not enough free space in ${root} to decompress the input: need about ${need} bytes, ${free} free (set LIFEBOAT_TMPDIR to another directory)`,
    );
  }
  const dir = mkdtempSync(join(root, 'lifeboat-snapshot-'));
  const path = join(dir, name);
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    rmSync(dir, { recursive: true, force: true });
  };
  const unregister = onCleanup(remove);
  return {
    path,
    remove: () => {
      remove();
      unregister();
    },
  };
}
