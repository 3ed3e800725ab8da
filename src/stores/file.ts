/**
 * A repository in a local directory. Objects are files (mode 0600) under the root; an object is written
 * to `.tmp/` first, fsynced, then hard-linked into place (link never replaces an existing file, so
 * objects are write-once even with several writers) and the directory fsynced.
 */
import { promises as fs } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { onCleanup } from '../util/cleanup.js';
import { ConnectionError, NotFoundError, RefusedError, UsageError } from '../util/errors.js';
import type { ObjectInfo, PutOptions, Repository } from './repository.js';

const TMP = '.tmp';

function checkKey(key: string): void {
  if (!key || key.startsWith('/') || key.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    throw new UsageError(`object key: expected a relative path without '.' or '..' parts, found '${key}'`);
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const h = await fs.open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** Bytes written between the syncs that run while an object is being written. */
const FLUSH_EVERY = 64 << 20;

export class FileRepository implements Repository {
  private constructor(readonly root: string) {}

  get location(): string {
    return `file://${this.root}`;
  }

  /**
   * Opens the directory; with create (the default, for writers) it is created (mode 0700) when missing,
   * without it (readers: list, show, verify, …) a missing directory is a NotFoundError.
   */
  static async open(root: string, opts: { create?: boolean } = {}): Promise<FileRepository> {
    const location = `file://${root}`;
    if (opts.create === false) {
      let st;
      try {
        st = await fs.stat(root);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT')
          throw new NotFoundError(`repository ${location}`);
        throw new ConnectionError(location, `cannot use as a repository: ${(err as Error).message}`);
      }
      if (!st.isDirectory()) {
        throw new ConnectionError(location, 'cannot use as a repository: expected a directory, found a file');
      }
      // A read-only repository is fine for readers; put() reports its own error.
      await fs.mkdir(join(root, TMP), { mode: 0o700 }).catch(() => undefined);
      return new FileRepository(root);
    }
    try {
      await fs.mkdir(join(root, TMP), { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new ConnectionError(location, `cannot use as a repository: ${(err as Error).message}`);
    }
    return new FileRepository(root);
  }

  private path(key: string): string {
    checkKey(key);
    return join(this.root, ...key.split('/'));
  }

  async put(key: string, body: Readable | Uint8Array, opts: PutOptions = {}): Promise<{ size: number }> {
    const final = this.path(key);
    if (await this.stat(key)) throw new RefusedError(`${this.location}: object ${key} already exists`);
    const tmp = join(this.root, TMP, `${randomBytes(8).toString('hex')}.part`);
    const unregister = onCleanup(() => {
      void fs.rm(tmp, { force: true });
    });
    const handle = await fs.open(tmp, 'wx', 0o600);
    let size = 0;
    // The data is flushed to disk as it is written (one sync in flight at a time), so the final sync waits
    // only for the tail instead of the whole object.
    let flushed = 0;
    let flushing: Promise<void> | undefined;
    let flushError: unknown;
    const flush = async () => {
      if (!flushing) return;
      await flushing;
      if (flushError) throw flushError;
    };
    try {
      const source = body instanceof Uint8Array ? Readable.from([body]) : body;
      for await (const chunk of source as AsyncIterable<Uint8Array>) {
        opts.signal?.throwIfAborted();
        await handle.write(chunk);
        size += chunk.length;
        opts.onProgress?.(size);
        // Written: the caller may reuse the memory (no reference to the chunk is kept past this point).
        opts.release?.(chunk);
        if (!flushing && size - flushed >= FLUSH_EVERY) {
          const upTo = size;
          flushing = handle.datasync().then(
            () => {
              flushed = upTo;
              flushing = undefined;
            },
            (err: unknown) => {
              flushError = err;
            },
          );
        }
        if (flushError) throw flushError;
      }
      opts.signal?.throwIfAborted();
      await flush();
      await handle.sync();
      await handle.close();
      await fs.mkdir(dirname(final), { recursive: true, mode: 0o700 });
      try {
        await fs.link(tmp, final);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new RefusedError(`${this.location}: object ${key} already exists`);
        }
        throw err;
      }
      await fsyncDir(dirname(final));
      return { size };
    } catch (err) {
      await flushing?.catch(() => undefined);
      await handle.close().catch(() => undefined);
      if ((err as NodeJS.ErrnoException).code === 'ENOSPC') {
        throw new ConnectionError(this.location, `disk full while writing ${key}`, { cause: err });
      }
      throw err;
    } finally {
      await fs.rm(tmp, { force: true });
      unregister();
    }
  }

  async get(key: string): Promise<Readable> {
    const p = this.path(key);
    const h = await fs.open(p, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new NotFoundError(`object ${key}`, this.location);
      throw err;
    });
    return h.createReadStream({ highWaterMark: 1 << 20 });
  }

  async getBytes(key: string): Promise<Buffer> {
    try {
      return await fs.readFile(this.path(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new NotFoundError(`object ${key}`, this.location);
      throw err;
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    try {
      const st = await fs.stat(this.path(key));
      return st.isFile() ? { key, size: st.size, modified: st.mtime } : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const e of entries) {
        const p = join(dir, e.name);
        const key = relative(this.root, p).split(sep).join('/');
        if (key === TMP) continue;
        if (e.isDirectory()) {
          if (prefix.startsWith(`${key}/`) || key.startsWith(prefix) || `${key}/`.startsWith(prefix))
            await walk(p);
        } else if (e.isFile() && key.startsWith(prefix)) {
          const st = await fs.stat(p);
          out.push({ key, size: st.size, modified: st.mtime });
        }
      }
    };
    await walk(this.root);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    const p = this.path(key);
    await fs.rm(p, { force: true });
    // Remove now-empty parent directories up to the root.
    let dir = dirname(p);
    while (dir !== this.root && dir.startsWith(this.root)) {
      try {
        await fs.rmdir(dir);
      } catch {
        break;
      }
      dir = dirname(dir);
    }
  }

  /** Objects being written right now (for gc and tests). */
  async partialUploads(): Promise<string[]> {
    return (await fs.readdir(join(this.root, TMP)).catch(() => [] as string[])).filter((f) =>
      f.endsWith('.part'),
    );
  }

  async close(): Promise<void> {}
}
