/**
 * Positional, synchronous reads of a file with a bounded LRU cache of small pages. Never maps or loads
 * the whole file: the cache holds at most `cacheBytes` of pages, and pages with overflow are not cached.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { checkKept, type PageHoles } from './sparse.js';

/** Bytes per slab of `readSmall`. */
const SLAB = 64 << 10;

export class PagedFile {
  readonly fd: number;
  readonly size: number;
  private closed = false;

  /** `holes`: the file is a sparse copy (sparse.ts); reads of pages it lacks throw PageNotKeptError. */
  constructor(
    readonly path: string,
    readonly holes?: PageHoles,
  ) {
    this.fd = openSync(path, 'r');
    this.size = fstatSync(this.fd).size;
  }

  /** Reads exactly `len` bytes at `pos`, or fewer when the file ends first. */
  readAt(pos: number, len: number): Buffer {
    if (this.holes) checkKept(this.holes, this.path, pos, len);
    const buf = Buffer.allocUnsafe(len);
    let done = 0;
    while (done < len) {
      const n = readSync(this.fd, buf, done, len - done, pos + done);
      if (n === 0) break;
      done += n;
    }
    return done === len ? buf : buf.subarray(0, done);
  }

  /**
   * Like `readAt`, for small reads kept in the page cache: the bytes are carved from a shared 64 KiB slab
   * (as Node pools buffers below 4 KiB) — one allocation per 16 pages of 4 KiB instead of one per page.
   */
  readSmall(pos: number, len: number): Buffer {
    if (len > SLAB / 8) return this.readAt(pos, len);
    if (this.slabUsed + len > SLAB) {
      this.slab = Buffer.allocUnsafeSlow(SLAB);
      this.slabUsed = 0;
    }
    const buf = this.slab.subarray(this.slabUsed, this.slabUsed + len);
    this.slabUsed += len;
    const done = this.readInto(buf, pos, len);
    return done === len ? buf : buf.subarray(0, done);
  }

  private slab = Buffer.alloc(0);
  private slabUsed = SLAB;

  /** Reads `len` bytes at `pos` into the start of `into`; returns the bytes read. */
  readInto(into: Buffer, pos: number, len: number): number {
    if (this.holes) checkKept(this.holes, this.path, pos, len);
    let done = 0;
    while (done < len) {
      const n = readSync(this.fd, into, done, len - done, pos + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}

/**
 * A small cache keyed by number, bounded by the sum of entry sizes. Hits only stamp the entry; when the
 * budget is exceeded the least recently stamped quarter is evicted in one go (cheaper than moving entries
 * on every hit).
 */
export class ByteLru<V> {
  private readonly map = new Map<number, { v: V; size: number; tick: number }>();
  private bytes = 0;
  private tick = 0;
  hits = 0;
  misses = 0;

  constructor(private readonly budget: number) {}

  get(k: number): V | undefined {
    const e = this.map.get(k);
    if (!e) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    e.tick = ++this.tick;
    return e.v;
  }

  has(k: number): boolean {
    return this.map.has(k);
  }

  set(k: number, v: V, size: number): void {
    if (size > this.budget / 4) return;
    const old = this.map.get(k);
    if (old) this.bytes -= old.size;
    this.map.set(k, { v, size, tick: ++this.tick });
    this.bytes += size;
    if (this.bytes > this.budget) this.evict();
  }

  private evict(): void {
    const entries = [...this.map.entries()].sort((a, b) => a[1].tick - b[1].tick);
    const target = (this.budget * 3) / 4;
    for (const [k, e] of entries) {
      if (this.bytes <= target) break;
      this.map.delete(k);
      this.bytes -= e.size;
    }
  }

  clear(): void {
    this.map.clear();
    this.bytes = 0;
  }
}
