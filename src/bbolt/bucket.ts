/**
 * bbolt buckets (formats.md §1.5): a 16-byte header {root u64, sequence u64} stored as a leaf value with
 * BUCKET_LEAF_FLAG. root 0 means an inline bucket whose leaf page follows the header inside the value.
 */
import type { BoltDb } from './db.js';
import { Cursor, entryValue, isBucketEntry, type LeafEntry } from './cursor.js';
import { Page, PAGE_HEADER_SIZE, PageFlag, parsePageHeader } from './page.js';

export const BUCKET_HEADER_SIZE = 16;
/**
 * A leaf walk reads ahead the children of several branch pages at once, up to this many bytes of pages (or
 * one branch page's worth of children, if that is more).
 */
const READ_AHEAD_BYTES = 4 << 20;

export class Bucket {
  private constructor(
    readonly db: BoltDb,
    /** Root page id, or 0 for an inline bucket. */
    readonly rootPgid: number,
    readonly sequence: bigint,
    readonly name: string,
    private readonly inlinePage: Page | undefined,
  ) {}

  static fromRoot(db: BoltDb, rootPgid: number, sequence: bigint, name: string): Bucket {
    return new Bucket(db, rootPgid, sequence, name, undefined);
  }

  /** Opens the bucket whose header is `value` (a leaf value with BUCKET_LEAF_FLAG found on page `owner`). */
  static fromValue(db: BoltDb, value: Buffer, owner: Page, name: string): Bucket {
    const where = `page ${owner.pgid}, bucket ${JSON.stringify(name)}`;
    if (value.length < BUCKET_HEADER_SIZE) {
      throw db.corrupt(
        `bucket header is ${value.length} bytes, expected at least ${BUCKET_HEADER_SIZE}`,
        where,
      );
    }
    const root = db.order.u64n(value, 0);
    const sequence = db.order.u64(value, 8);
    if (root !== 0) return new Bucket(db, root, sequence, name, undefined);
    const body = value.subarray(BUCKET_HEADER_SIZE);
    if (body.length < PAGE_HEADER_SIZE)
      throw db.corrupt('inline bucket is shorter than a page header', where);
    const header = parsePageHeader(body, db.order);
    if (header.flags !== PageFlag.leaf) {
      throw db.corrupt(`inline bucket page has flags 0x${header.flags.toString(16)}, expected a leaf`, where);
    }
    const page = new Page(owner.pgid, header, body, body.length, db.order, db.file.path, undefined, true);
    return new Bucket(db, 0, sequence, name, page);
  }

  get inline(): boolean {
    return this.inlinePage !== undefined;
  }

  rootPage(): Page {
    return this.inlinePage ?? this.db.page(this.rootPgid, [PageFlag.branch, PageFlag.leaf]);
  }

  cursor(): Cursor {
    return new Cursor(this.db, () => this.rootPage());
  }

  /** The entry with exactly this key (value or sub-bucket), or undefined. */
  getEntry(key: Buffer): LeafEntry | undefined {
    const e = this.cursor().seek(key);
    return e && e.key.equals(key) ? e : undefined;
  }

  /** The value stored under `key` (not a sub-bucket), or undefined. */
  get(key: string | Buffer): Buffer | undefined {
    const e = this.getEntry(typeof key === 'string' ? Buffer.from(key) : key);
    return e && !isBucketEntry(e) ? entryValue(e) : undefined;
  }

  /** The nested bucket `name`, or undefined. */
  bucket(name: string | Buffer): Bucket | undefined {
    const k = typeof name === 'string' ? Buffer.from(name) : name;
    const e = this.getEntry(k);
    if (!e || !isBucketEntry(e)) return undefined;
    return Bucket.fromValue(this.db, entryValue(e), e.page, k.toString('latin1'));
  }

  /** The sub-bucket an entry describes. */
  bucketOf(e: LeafEntry): Bucket {
    return Bucket.fromValue(this.db, entryValue(e), e.page, e.key.toString('latin1'));
  }

  /**
   * The bucket's leaf pages in key order (the inline page for an inline bucket): for loops that read the
   * elements of each page themselves with `Page.leafInfo`, without an object per entry.
   */
  *leafPages(): IterableIterator<Page> {
    if (this.inlinePage) {
      yield this.inlinePage;
      return;
    }
    const expect = [PageFlag.branch, PageFlag.leaf];
    const root = this.db.page(this.rootPgid, expect);
    if (root.count === 0 && root.isBranch) throw this.db.corrupt('empty branch page', `page ${root.pgid}`);
    if (root.isLeaf) {
      yield root;
      return;
    }
    const stack: { page: Page; index: number }[] = [{ page: root, index: 0 }];
    // Branch pages whose children were read ahead with an earlier sibling's (until the next read-ahead).
    const covered = new Set<number>();
    // Reads ahead the children of branch page `b` and, while under the budget, those of the branch pages
    // that follow it under its parent (`parent.index` on): the leaves of neighbouring branches often lie
    // next to each other in the file, and are then read in one call. A sibling that cannot be read ends the
    // read-ahead (the walk reports it when it gets there).
    const ps = this.db.pageSize;
    const budget = Math.max(ps / 16, Math.floor(READ_AHEAD_BYTES / ps));
    const prefetchChildren = (b: Page, parent: { page: Page; index: number } | undefined) => {
      if (covered.delete(b.pgid)) return;
      covered.clear();
      const ids: number[] = [];
      for (let i = 0; i < b.count; i++) ids.push(b.branchChild(i));
      for (let j = parent ? parent.index : 0; parent && j < parent.page.count; j++) {
        let sibling: Page;
        try {
          sibling = this.db.page(parent.page.branchChild(j), expect);
        } catch {
          break;
        }
        if (!sibling.isBranch || ids.length + sibling.count > budget) break;
        for (let i = 0; i < sibling.count; i++) ids.push(sibling.branchChild(i));
        covered.add(sibling.pgid);
      }
      this.db.prefetch(ids, budget);
    };
    prefetchChildren(root, undefined);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.index >= top.page.count) {
        stack.pop();
        continue;
      }
      const child = top.page.branchChild(top.index++);
      if (stack.length >= 64)
        throw this.db.corrupt('tree deeper than 64 levels (a loop between pages?)', `page ${child}`);
      for (const f of stack) {
        if (f.page.pgid === child) {
          throw this.db.corrupt(
            `loop: branch page ${top.page.pgid} points back to page ${child}`,
            `page ${top.page.pgid}`,
          );
        }
      }
      const p = this.db.page(child, expect);
      if (p.isLeaf) yield p;
      else {
        if (p.count === 0) throw this.db.corrupt('empty branch page', `page ${child}`);
        prefetchChildren(p, top);
        stack.push({ page: p, index: 0 });
      }
    }
  }

  /** Every entry in key order. */
  entries(): IterableIterator<LeafEntry> {
    return this.cursor()[Symbol.iterator]();
  }
}
