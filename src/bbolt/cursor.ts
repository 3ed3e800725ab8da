/**
 * A cursor over one bucket's B+tree in key order (bbolt's Cursor): first, seek, next. Leaf entries are
 * returned with a lazy view of the value so that large values are read only when asked for.
 */
import type { BoltDb } from './db.js';
import { BUCKET_LEAF_FLAG, Page, PageFlag } from './page.js';

export interface LeafEntry {
  key: Buffer;
  /** Leaf element flags; `BUCKET_LEAF_FLAG` marks a sub-bucket. */
  flags: number;
  page: Page;
  valueOffset: number;
  valueSize: number;
}

/** The value bytes of an entry (loads the page's overflow when the value lies there). */
export function entryValue(e: LeafEntry): Buffer {
  return e.page.slice(e.valueOffset, e.valueSize);
}

export function isBucketEntry(e: LeafEntry): boolean {
  return (e.flags & BUCKET_LEAF_FLAG) !== 0;
}

const MAX_DEPTH = 64;
const TREE_PAGE = [PageFlag.branch, PageFlag.leaf];

interface Frame {
  page: Page;
  index: number;
}

export class Cursor {
  private stack: Frame[] = [];

  constructor(
    private readonly db: BoltDb,
    private readonly rootPage: () => Page,
  ) {}

  private child(parent: Page, index: number): Page {
    const { child } = parent.branchElement(index);
    if (this.stack.length >= MAX_DEPTH) {
      throw this.db.corrupt(`tree deeper than ${MAX_DEPTH} levels (a loop between pages?)`, `page ${child}`);
    }
    for (const f of this.stack) {
      if (!f.page.inline && f.page.pgid === child) {
        throw this.db.corrupt(
          `loop: branch page ${parent.pgid} points back to page ${child}`,
          `page ${parent.pgid}`,
        );
      }
    }
    const p = this.db.page(child, TREE_PAGE);
    if (p.count === 0 && p.isBranch) throw this.db.corrupt('empty branch page', `page ${child}`);
    return p;
  }

  private start(): Page {
    const root = this.rootPage();
    if (root.count === 0 && root.isBranch) throw this.db.corrupt('empty branch page', `page ${root.pgid}`);
    return root;
  }

  /** Descends from the top frame to its first leaf. */
  private descendFirst(): void {
    for (;;) {
      const top = this.stack[this.stack.length - 1]!;
      if (!top.page.isBranch) return;
      this.stack.push({ page: this.child(top.page, top.index), index: 0 });
    }
  }

  private current(): LeafEntry | undefined {
    const top = this.stack[this.stack.length - 1];
    if (!top || top.index >= top.page.count) return undefined;
    const e = top.page.leafElement(top.index);
    return { key: e.key, flags: e.flags, page: top.page, valueOffset: e.valueOffset, valueSize: e.valueSize };
  }

  /** Moves to the next leaf with an element at or after the top frame's position; undefined at the end. */
  private settle(): LeafEntry | undefined {
    for (;;) {
      const top = this.stack[this.stack.length - 1];
      if (!top) return undefined;
      if (top.index < top.page.count) {
        if (top.page.isBranch) {
          this.descendFirst();
          continue;
        }
        return this.current();
      }
      this.stack.pop();
      const parent = this.stack[this.stack.length - 1];
      if (!parent) return undefined;
      parent.index++;
    }
  }

  first(): LeafEntry | undefined {
    this.stack = [{ page: this.start(), index: 0 }];
    return this.settle();
  }

  /** Positions at the last entry. */
  last(): LeafEntry | undefined {
    this.stack = [{ page: this.start(), index: 0 }];
    for (;;) {
      const top = this.stack[this.stack.length - 1]!;
      top.index = Math.max(0, top.page.count - 1);
      if (!top.page.isBranch) return this.current();
      this.stack.push({ page: this.child(top.page, top.index), index: 0 });
    }
  }

  next(): LeafEntry | undefined {
    const top = this.stack[this.stack.length - 1];
    if (!top) return undefined;
    top.index++;
    return this.settle();
  }

  /** Positions at the first key ≥ `key`. */
  seek(key: Buffer): LeafEntry | undefined {
    this.stack = [{ page: this.start(), index: 0 }];
    for (;;) {
      const top = this.stack[this.stack.length - 1]!;
      const p = top.page;
      const n = p.count;
      let lo = 0;
      let hi = n;
      let exact = false;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        const k = p.isBranch ? p.branchElement(mid).key : p.leafElement(mid).key;
        const c = Buffer.compare(k, key);
        if (c < 0) lo = mid + 1;
        else {
          if (c === 0) exact = true;
          hi = mid;
        }
      }
      if (p.isBranch) {
        top.index = !exact && lo > 0 ? lo - 1 : Math.min(lo, n - 1);
        this.stack.push({ page: this.child(p, top.index), index: 0 });
        continue;
      }
      top.index = lo;
      return this.settle();
    }
  }

  *[Symbol.iterator](): IterableIterator<LeafEntry> {
    for (let e = this.first(); e; e = this.next()) yield e;
  }

  /** Iterates from the first key ≥ `key`. */
  *from(key: Buffer): IterableIterator<LeafEntry> {
    for (let e = this.seek(key); e; e = this.next()) yield e;
  }
}
