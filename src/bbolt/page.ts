/**
 * bbolt pages (formats.md §1.2, §1.4): a 16-byte header {id u64, flags u16, count u16, overflow u32}, then
 * 16-byte elements. Branch element: {pos u32, ksize u32, pgid u64}; leaf element: {flags u32, pos u32,
 * ksize u32, vsize u32}; pos is relative to the element's own address. A page with overflow k spans
 * (k+1) × pageSize bytes. A Page may hold only its first pageSize bytes and load the rest on demand.
 */
import { CorruptInputError } from '../util/errors.js';
import type { ByteOrder } from './byte-order.js';

export const PAGE_HEADER_SIZE = 16;
export const ELEMENT_SIZE = 16;

export const PageFlag = {
  branch: 0x01,
  leaf: 0x02,
  meta: 0x04,
  freelist: 0x10,
} as const;

/** Leaf element flag: the value is a sub-bucket header. */
export const BUCKET_LEAF_FLAG = 0x01;

export function pageFlagName(flags: number): string {
  switch (flags) {
    case PageFlag.branch:
      return 'branch';
    case PageFlag.leaf:
      return 'leaf';
    case PageFlag.meta:
      return 'meta';
    case PageFlag.freelist:
      return 'freelist';
    default:
      return `unknown(0x${flags.toString(16)})`;
  }
}

export interface PageHeader {
  id: bigint;
  flags: number;
  count: number;
  overflow: number;
}

export function parsePageHeader(b: Buffer, order: ByteOrder, off = 0): PageHeader {
  return {
    id: order.u64(b, off),
    flags: order.u16(b, off + 8),
    count: order.u16(b, off + 10),
    overflow: order.u32(b, off + 12),
  };
}

/** Leaf element fields, filled in place by `Page.leafInfo` (no allocation per element). */
export interface LeafInfo {
  flags: number;
  /** Offset of the key from the start of the page; the value follows it. */
  keyOffset: number;
  keySize: number;
  valueSize: number;
}

export function newLeafInfo(): LeafInfo {
  return { flags: 0, keyOffset: 0, keySize: 0, valueSize: 0 };
}

/** A page's bytes. `bytes` may hold only a prefix of the page; `ensure` loads the whole page. */
export class Page {
  constructor(
    /** The page id it was read as (for inline pages: the owning page's id, for messages). */
    readonly pgid: number,
    readonly header: PageHeader,
    private buf: Buffer,
    /** Full byte length of the page ((overflow+1) × pageSize, or the inline value length). */
    readonly fullLength: number,
    readonly order: ByteOrder,
    /** The file, for error messages. */
    readonly file: string,
    private readonly loadRest: ((off?: number, len?: number) => Buffer) | undefined,
    /** True for a page embedded in a bucket value. */
    readonly inline = false,
    private readonly readInto?: (into: Buffer, off: number, len: number) => void,
  ) {}

  get loadedLength(): number {
    return this.buf.length;
  }

  /** The loaded bytes (the first pageSize bytes, or the whole page once loaded). Do not modify. */
  get loaded(): Buffer {
    return this.buf;
  }

  /** Leaf element i's fields into `o`, without allocating (hot loops over many entries). */
  leafInfo(i: number, o: LeafInfo): void {
    const eo = PAGE_HEADER_SIZE + i * ELEMENT_SIZE;
    let b = this.buf;
    let at = eo;
    if (eo + ELEMENT_SIZE > b.length) {
      b = this.peek(eo, ELEMENT_SIZE);
      at = 0;
    }
    const ord = this.order;
    o.flags = ord.u32(b, at);
    o.keyOffset = eo + ord.u32(b, at + 4);
    o.keySize = ord.u32(b, at + 8);
    o.valueSize = ord.u32(b, at + 12);
  }

  /**
   * The bytes [off, off+len) without loading the whole page: a positional read of just that range when it
   * lies beyond what is loaded. For reading a field after a large value.
   */
  peek(off: number, len: number): Buffer {
    if (off + len <= this.buf.length || !this.loadRest) return this.slice(off, len);
    if (off + len > this.fullLength) return this.slice(off, len);
    return this.loadRest(off, len);
  }

  /**
   * The bytes [off, off+len), copied into `scratch` (a reusable buffer, grown when too small) when they lie
   * beyond what is loaded: for a caller that uses the bytes at once and keeps none of them.
   */
  transient(off: number, len: number, scratch: { buf: Buffer }): Buffer {
    if (off + len <= this.buf.length || !this.readInto || off + len > this.fullLength)
      return this.slice(off, len);
    if (scratch.buf.length < len) scratch.buf = Buffer.allocUnsafe(Math.max(len, scratch.buf.length * 2));
    this.readInto(scratch.buf, off, len);
    return scratch.buf.subarray(0, len);
  }

  /** The bytes [off, off+len) of the page, loading the rest of the page when needed. */
  slice(off: number, len: number): Buffer {
    if (off + len > this.buf.length) {
      if (this.loadRest && this.buf.length < this.fullLength) this.buf = this.loadRest();
      if (off + len > this.buf.length) {
        throw new CorruptInputError(
          this.file,
          `element data [${off}, ${off + len}) lies outside the page (${this.buf.length} bytes)`,
          `${this.inline ? 'inline page in ' : ''}page ${this.pgid}`,
        );
      }
    }
    return this.buf.subarray(off, off + len);
  }

  get isBranch(): boolean {
    return this.header.flags === PageFlag.branch;
  }

  get isLeaf(): boolean {
    return this.header.flags === PageFlag.leaf;
  }

  get count(): number {
    return this.header.count;
  }

  // Elements and keys are read with peek: in a leaf that also holds a large value, the elements after it
  // lie in the overflow part, and reading their keys must not pull in the whole value.
  private element(i: number): Buffer {
    return this.peek(PAGE_HEADER_SIZE + i * ELEMENT_SIZE, ELEMENT_SIZE);
  }

  /** Branch element i's child page id, without reading its key (tree walks). */
  branchChild(i: number): number {
    const eo = PAGE_HEADER_SIZE + i * ELEMENT_SIZE;
    if (eo + ELEMENT_SIZE <= this.buf.length) return this.order.u64n(this.buf, eo + 8);
    return this.order.u64n(this.element(i), 8);
  }

  /** Branch element i: key and child page id. */
  branchElement(i: number): { key: Buffer; child: number } {
    const e = this.element(i);
    const o = this.order;
    const pos = o.u32(e, 0);
    const ksize = o.u32(e, 4);
    const child = o.u64n(e, 8);
    const keyOff = PAGE_HEADER_SIZE + i * ELEMENT_SIZE + pos;
    return { key: this.peek(keyOff, ksize), child };
  }

  /** Leaf element i: flags, key, and where the value lies (offset in page, size). */
  leafElement(i: number): { flags: number; key: Buffer; valueOffset: number; valueSize: number } {
    const e = this.element(i);
    const o = this.order;
    const flags = o.u32(e, 0);
    const pos = o.u32(e, 4);
    const ksize = o.u32(e, 8);
    const vsize = o.u32(e, 12);
    const keyOff = PAGE_HEADER_SIZE + i * ELEMENT_SIZE + pos;
    return { flags, key: this.peek(keyOff, ksize), valueOffset: keyOff + ksize, valueSize: vsize };
  }
}
