/**
 * A read-only bbolt database over a file: finds the page size, validates both metas and picks the current
 * one (formats.md §1.3), reads pages by id with bounds checks (formats.md §1.9) through a bounded cache,
 * and opens the root bucket. Takes no lock; reads with positional I/O only.
 */
import { totalmem } from 'node:os';
import { CorruptInputError } from '../util/errors.js';
import type { ByteOrder } from './byte-order.js';
import { Bucket } from './bucket.js';
import {
  chooseMeta,
  META_BODY_OFFSET,
  META_BODY_SIZE,
  parseMeta,
  type Meta,
  type MetaProblem,
} from './meta.js';
import { ByteLru, PagedFile } from './paged-file.js';
import { Page, PAGE_HEADER_SIZE, PageFlag, pageFlagName, parsePageHeader } from './page.js';
import type { PageHoles } from './sparse.js';

export interface BoltOpenOptions {
  /** Page cache budget in bytes (default: 1/16 of the machine's memory, 64 to 256 MiB). */
  cacheBytes?: number;
  /** The file is a sparse copy lacking these pages (sparse.ts). */
  holes?: PageHoles;
}

export interface MetaState {
  meta0: Meta | undefined;
  meta1: Meta | undefined;
  meta0Problem?: MetaProblem;
  meta1Problem?: MetaProblem;
}

/**
 * The page cache's budget: 1/16 of the machine's memory, between 64 and 256 MiB. Listings in file order
 * walk the pages twice (latest revisions, then values): a cache that holds every small page of a typical
 * Kubernetes database (≈ 150 MiB for 100k objects) turns the second walk into cache hits.
 */
function defaultCacheBytes(): number {
  return Math.min(256 << 20, Math.max(64 << 20, Math.floor(totalmem() / 16)));
}

const MIN_PAGE_SIZE = 512;
/** Prefetch only pages up to this size, in runs of at most this many pages. */
const PREFETCH_MAX_PAGE = 64 << 10;
const PREFETCH_RUN = 64;
const MAX_PAGE_SIZE = 1 << 24;

export class BoltDb {
  readonly file: PagedFile;
  readonly pageSize: number;
  readonly order: ByteOrder;
  readonly meta: Meta;
  readonly metas: MetaState;
  /** High-water mark (number of pages in use by the data file), as a number. */
  readonly hwm: number;
  private readonly cache: ByteLru<Page>;

  private constructor(
    file: PagedFile,
    pageSize: number,
    order: ByteOrder,
    metas: MetaState,
    cacheBytes: number,
  ) {
    this.file = file;
    this.pageSize = pageSize;
    this.order = order;
    this.metas = metas;
    const meta = chooseMeta(metas.meta0, metas.meta1);
    if (!meta) throw this.corrupt('no valid meta page', 'meta');
    this.meta = meta;
    this.hwm = Number(meta.pgid);
    this.cache = new ByteLru(cacheBytes);
    if (meta.pgid < 2n) throw this.corrupt(`meta page ${meta.page}: high-water mark ${meta.pgid} is below 2`);
    const dataLen = this.hwm * pageSize;
    if (dataLen > file.size) {
      throw this.corrupt(
        `file is truncated: meta page ${meta.page} says ${meta.pgid} pages of ${pageSize} bytes (${dataLen} bytes), the file has ${file.size} bytes`,
      );
    }
  }

  /** Opens a bbolt file. Throws CorruptInputError when it is not one or both metas are unusable. */
  static open(path: string, options: BoltOpenOptions = {}): BoltDb {
    const file = new PagedFile(path, options.holes);
    try {
      return BoltDb.openFile(file, options);
    } catch (e) {
      file.close();
      throw e;
    }
  }

  private static openFile(file: PagedFile, options: BoltOpenOptions): BoltDb {
    const corrupt = (problem: string, where?: string) => new CorruptInputError(file.path, problem, where);
    if (file.size === 0) throw corrupt('empty file: expected a bbolt database (etcd snapshot)');
    if (file.size < META_BODY_OFFSET + META_BODY_SIZE) {
      throw corrupt(`file is only ${file.size} bytes: too short for a bbolt database`);
    }
    const m0 = parseMeta(file.readAt(META_BODY_OFFSET, META_BODY_SIZE), 0);
    let pageSize: number | undefined;
    let order: ByteOrder | undefined;
    const metas: MetaState = { meta0: undefined, meta1: undefined };
    if ('meta' in m0) {
      pageSize = m0.meta.pageSize;
      order = m0.order;
      metas.meta0 = m0.meta;
    } else {
      metas.meta0Problem = m0.problem;
    }
    const validSize = (n: number) => n >= MIN_PAGE_SIZE && n <= MAX_PAGE_SIZE && (n & (n - 1)) === 0;
    if (pageSize !== undefined && !validSize(pageSize)) {
      metas.meta0 = undefined;
      metas.meta0Problem = 'invalid magic';
      pageSize = undefined;
    }
    if (pageSize === undefined) {
      // Meta 0 is unusable: look for meta 1 at 1 KiB .. 16 MiB (bbolt's getPageSize).
      for (let i = 0; i <= 14; i++) {
        const at = 1024 << i;
        if (at + META_BODY_OFFSET + META_BODY_SIZE > file.size) break;
        const m1 = parseMeta(file.readAt(at + META_BODY_OFFSET, META_BODY_SIZE), 1);
        if ('meta' in m1 && m1.meta.pageSize === at) {
          pageSize = at;
          order = m1.order;
          break;
        }
      }
      if (pageSize === undefined || order === undefined) {
        const p0 = metas.meta0Problem ?? 'invalid page size';
        const what = p0 === 'invalid magic' ? 'no bbolt magic 0xED0CDAED at offset 16' : `meta page 0: ${p0}`;
        throw corrupt(`not a usable bbolt database (etcd snapshot): ${what}, and no valid meta page 1 found`);
      }
    }
    const m1 = parseMeta(file.readAt(pageSize + META_BODY_OFFSET, META_BODY_SIZE), 1);
    if ('meta' in m1 && m1.meta.pageSize === pageSize && m1.order === order) metas.meta1 = m1.meta;
    else metas.meta1Problem = 'meta' in m1 ? 'invalid magic' : m1.problem;
    return new BoltDb(file, pageSize, order!, metas, options.cacheBytes ?? defaultCacheBytes());
  }

  corrupt(problem: string, where?: string): CorruptInputError {
    return new CorruptInputError(this.file.path, problem, where);
  }

  /**
   * Reads the first page of each id not cached yet, sorted and with runs of consecutive ids read in one
   * call (a branch page's children, which bbolt scatters through the file), so that the `page()` calls that
   * follow cost no read. Pages are still parsed and checked by `page()`; ids it never asks for are dropped
   * at the next prefetch. `maxIds`: the most ids a caller may ask for at once (default: what one branch
   * page holds; more come from a corrupt page and are read one by one).
   */
  prefetch(ids: number[], maxIds = this.pageSize / 16): void {
    this.prefetched.clear();
    const ps = this.pageSize;
    if (ps > PREFETCH_MAX_PAGE || ids.length > maxIds) return;
    const want = ids.filter(
      (id) => Number.isSafeInteger(id) && id >= 2 && id < this.hwm && !this.cache.has(id),
    );
    if (want.length < 2) return;
    want.sort((a, b) => a - b);
    for (let i = 0; i < want.length;) {
      let j = i + 1;
      while (j < want.length && want[j] === want[j - 1]! + 1 && j - i < PREFETCH_RUN) j++;
      if (j - i >= 2) {
        const buf = this.file.readAt(want[i]! * ps, (j - i) * ps);
        for (let k = i; k < j && (k - i + 1) * ps <= buf.length; k++)
          this.prefetched.set(want[k]!, buf.subarray((k - i) * ps, (k - i + 1) * ps));
      }
      i = j;
    }
  }

  private readonly prefetched = new Map<number, Buffer>();

  /** Data size of the database: meta.pgid × pageSize (tx.Size()). */
  get dataSize(): bigint {
    return this.meta.pgid * BigInt(this.pageSize);
  }

  /**
   * Reads page `id`, checking that it lies below the high-water mark, that its header id matches, that its
   * flags are one of `expect` (when given) and that its overflow stays inside the data.
   */
  page(id: number, expect?: number[]): Page {
    const cached = this.cache.get(id);
    if (cached) {
      if (expect && !expect.includes(cached.header.flags)) this.badFlags(id, cached.header.flags, expect);
      return cached;
    }
    if (!Number.isSafeInteger(id) || id < 0 || id >= this.hwm) {
      throw this.corrupt(`page id ${id} is outside the database (high-water mark ${this.hwm})`, `page ${id}`);
    }
    const ps = this.pageSize;
    const first = this.prefetched.get(id) ?? this.file.readSmall(id * ps, ps);
    this.prefetched.delete(id);
    if (first.length < ps) throw this.corrupt('page runs past the end of the file', `page ${id}`);
    const header = parsePageHeader(first, this.order);
    if (header.id !== BigInt(id)) {
      throw this.corrupt(`page header says id ${header.id}, expected ${id}`, `page ${id}`);
    }
    if (expect && !expect.includes(header.flags)) this.badFlags(id, header.flags, expect);
    if (id + header.overflow >= this.hwm) {
      throw this.corrupt(
        `overflow of ${header.overflow} pages runs past the high-water mark ${this.hwm}`,
        `page ${id}`,
      );
    }
    const fullLength = (header.overflow + 1) * ps;
    const loadRest =
      header.overflow > 0
        ? (off?: number, len?: number) => {
            if (off !== undefined && len !== undefined) {
              const part = this.file.readAt(id * ps + off, len);
              if (part.length < len)
                throw this.corrupt('page overflow runs past the end of the file', `page ${id}`);
              return part;
            }
            const all = this.file.readAt(id * ps, fullLength);
            if (all.length < fullLength)
              throw this.corrupt('page overflow runs past the end of the file', `page ${id}`);
            return all;
          }
        : undefined;
    const readInto =
      header.overflow > 0
        ? (into: Buffer, off: number, len: number) => {
            if (this.file.readInto(into, id * ps + off, len) < len) {
              throw this.corrupt('page overflow runs past the end of the file', `page ${id}`);
            }
          }
        : undefined;
    const page = new Page(
      id,
      header,
      first,
      fullLength,
      this.order,
      this.file.path,
      loadRest,
      false,
      readInto,
    );
    if (header.overflow === 0) this.cache.set(id, page, ps);
    return page;
  }

  private badFlags(id: number, flags: number, expect: number[]): never {
    throw this.corrupt(
      `page has type ${pageFlagName(flags)}, expected ${expect.map(pageFlagName).join(' or ')}`,
      `page ${id}`,
    );
  }

  /** The root bucket (whose entries are the top-level buckets). */
  root(): Bucket {
    return Bucket.fromRoot(this, Number(this.meta.rootPgid), this.meta.rootSequence, 'root bucket');
  }

  /** A top-level bucket by name, or undefined. */
  bucket(name: string | Buffer): Bucket | undefined {
    return this.root().bucket(name);
  }

  /** Re-reads both meta pages from the file (to detect a writer that moved on while we read). */
  rereadMetas(): MetaState {
    const r0 = parseMeta(this.file.readAt(META_BODY_OFFSET, META_BODY_SIZE), 0);
    const r1 = parseMeta(this.file.readAt(this.pageSize + META_BODY_OFFSET, META_BODY_SIZE), 1);
    return {
      meta0: 'meta' in r0 ? r0.meta : undefined,
      meta1: 'meta' in r1 ? r1.meta : undefined,
      ...('problem' in r0 ? { meta0Problem: r0.problem } : {}),
      ...('problem' in r1 ? { meta1Problem: r1.problem } : {}),
    };
  }

  cacheStats(): { hits: number; misses: number } {
    return { hits: this.cache.hits, misses: this.cache.misses };
  }

  close(): void {
    this.cache.clear();
    this.file.close();
  }
}

export { PAGE_HEADER_SIZE, PageFlag };
