/**
 * Output files are written as `<path>.part`, fsynced, renamed into place and the directory fsynced, so a
 * reader never sees a half-written file. An existing file is never replaced without `force`.
 */
import { constants, existsSync, promises as fs, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { onCleanup } from './cleanup.js';
import { RefusedError } from './errors.js';

export interface AtomicWriteOptions {
  /** Replace an existing file. */
  force?: boolean;
  /** File mode; 0600 unless the caller knows the content is not sensitive. */
  mode?: number;
}

export class AtomicFile {
  private done = false;
  private constructor(
    readonly path: string,
    readonly partPath: string,
    private readonly handle: fs.FileHandle,
    private readonly unregister: () => void,
  ) {}

  static async open(path: string, options: AtomicWriteOptions = {}): Promise<AtomicFile> {
    if (!options.force && existsSync(path)) {
      throw new RefusedError(`refusing to overwrite existing file ${path} (pass --force to replace it)`);
    }
    const partPath = `${path}.part`;
    const handle = await fs.open(
      partPath,
      constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC,
      options.mode ?? 0o600,
    );
    await handle.chmod(options.mode ?? 0o600);
    const unregister = onCleanup(() => rmSync(partPath, { force: true }));
    return new AtomicFile(path, partPath, handle, unregister);
  }

  async write(chunk: Uint8Array | string): Promise<void> {
    if (typeof chunk === 'string') await this.handle.write(chunk);
    else await this.handle.write(chunk);
  }

  /** fsync, rename into place, fsync the directory. */
  async commit(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.handle.sync();
    await this.handle.close();
    await fs.rename(this.partPath, this.path);
    this.unregister();
    const dir = await fs.open(dirname(this.path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  /** Closes and removes the .part file; the destination is untouched. */
  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.handle.close().catch(() => undefined);
    await fs.rm(this.partPath, { force: true });
    this.unregister();
  }
}

/** Writes a whole file atomically. */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const file = await AtomicFile.open(path, options);
  try {
    await file.write(data);
    await file.commit();
  } catch (err) {
    await file.abort();
    throw err;
  }
}
