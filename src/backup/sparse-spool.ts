/**
 * Writes the spool of `backup create` as a sparse copy of the snapshot (src/bbolt/sparse.ts): the inner
 * pages of leaf runs that hold large values are not written, only their CRC-32C is kept. The inspection
 * reads keys, the head and tail of each value and every other page; the inner bytes of a large value it
 * only checksums (HashKV), which the kept CRCs answer. On a database of large values this writes a few
 * percent of the bytes instead of all of them — writing new file pages is the costliest stage of a backup
 * on many machines.
 *
 * Pages are classified as the stream passes, from the page headers (formats.md §1.2): a page whose header
 * names its own id and a known type starts a run; in a leaf run of three pages or more (no sub-buckets, its
 * element table in the first page), the pages holding a key, the first VALUE_HEAD_BYTES of a value or the
 * last bytes of a value are kept, the others become holes. Anything unusual — a page that does not
 * look like a run start, a branch or freelist run, an odd page size — is written as is: a wrong guess can
 * only cost a skipped structure check (a read of a missing page is refused, never answered with zeros).
 */
import { ftruncateSync, writeSync } from 'node:fs';
import type { ByteOrder } from '../bbolt/byte-order.js';
import { META_BODY_OFFSET, META_BODY_SIZE, parseMeta } from '../bbolt/meta.js';
import { BUCKET_LEAF_FLAG, ELEMENT_SIZE, PAGE_HEADER_SIZE, PageFlag } from '../bbolt/page.js';
import type { PageHoles } from '../bbolt/sparse.js';
import { crc32c } from '../etcd/crc32c.js';
import { VALUE_HEAD_BYTES } from '../etcd/kv.js';

/** Bytes kept before the end of each value: the fields etcd writes after `value` (lease). */
const VALUE_TAIL_BYTES = 64;
const RUN_FLAGS = new Set<number>([PageFlag.branch, PageFlag.leaf, PageFlag.meta, PageFlag.freelist]);

export class SparseSpoolWriter {
  private pageSize = 0;
  private order: ByteOrder | undefined;
  /** Stream offset of the next byte. */
  private pos = 0;
  /** Everything is written from here on (the first page did not parse, or a batch was not page-aligned). */
  private dense = false;
  /** Pages below this id that are not run starts and not in `kept` are inner pages of a large leaf run. */
  private innerEnd = 0;
  /**
   * Page ranges [from, to) ahead inside runs that must be written (keys, value heads and tails, whole
   * non-leaf runs): disjoint and ascending. Ranges, not page ids: a corrupt header may claim billions.
   */
  private kept: [number, number][] = [];
  /** Runs of consecutive pages not written: first page, page count, CRC-32C of their bytes. */
  private starts: number[] = [];
  private counts: number[] = [];
  private crcs: number[] = [];

  constructor(private readonly fd: number) {}

  /** Bytes of the stream written to the file so far (holes excluded). */
  written = 0;

  write(batch: Buffer): void {
    const base = this.pos;
    this.pos += batch.length;
    if (base === 0) this.start(batch);
    const ps = this.pageSize;
    if (this.dense || base % ps !== 0) {
      this.dense = true;
      this.put(batch, base);
      return;
    }
    let from = 0;
    // Consecutive pages left out are checksummed in one call (larger calls run faster).
    let spanOff = 0;
    let spanPages = 0;
    const leaveSpan = () => {
      if (spanPages === 0) return;
      this.leaveOut((base + spanOff) / ps, spanPages, batch.subarray(spanOff, spanOff + spanPages * ps));
      spanPages = 0;
    };
    for (let off = 0; off + ps <= batch.length; off += ps) {
      const id = (base + off) / ps;
      const kept = this.isKept(id);
      if (this.isRunStart(batch, off, id)) {
        this.claim(batch, off, id);
        continue;
      }
      if (kept || id >= this.innerEnd) continue;
      if (off > from) {
        leaveSpan();
        this.put(batch.subarray(from, off), base + from);
      }
      if (spanPages === 0) spanOff = off;
      spanPages++;
      from = off + ps;
    }
    leaveSpan();
    if (from < batch.length) this.put(batch.subarray(from), base + from);
  }

  /** The pages not written, with their CRCs; the file gets the stream's full length. */
  finish(): PageHoles | undefined {
    ftruncateSync(this.fd, this.pos);
    if (this.starts.length === 0) return undefined;
    return {
      pageSize: this.pageSize,
      starts: Uint32Array.from(this.starts),
      counts: Uint32Array.from(this.counts),
      crcs: Uint32Array.from(this.crcs),
    };
  }

  /**
   * `pages` pages from `id` on are left out: right after the last run they extend it (its CRC continues over
   * their bytes), else they start a run.
   */
  private leaveOut(id: number, pages: number, bytes: Buffer): void {
    const n = this.starts.length - 1;
    if (n >= 0 && this.starts[n]! + this.counts[n]! === id) {
      this.counts[n]! += pages;
      this.crcs[n] = crc32c(bytes, this.crcs[n]!);
      return;
    }
    this.starts.push(id);
    this.counts.push(pages);
    this.crcs.push(crc32c(bytes));
  }

  private start(first: Buffer): void {
    if (first.length < META_BODY_OFFSET + META_BODY_SIZE) {
      this.dense = true;
      return;
    }
    const m = parseMeta(first.subarray(META_BODY_OFFSET, META_BODY_OFFSET + META_BODY_SIZE), 0);
    if (!('meta' in m) || m.meta.pageSize < 512 || (m.meta.pageSize & (m.meta.pageSize - 1)) !== 0) {
      this.dense = true;
      return;
    }
    this.pageSize = m.meta.pageSize;
    this.order = m.order;
  }

  private isRunStart(b: Buffer, off: number, id: number): boolean {
    const o = this.order!;
    return RUN_FLAGS.has(o.u16(b, off + 8)) && o.u64(b, off) === BigInt(id);
  }

  /** A run starts at page `id`: decides which of its pages must be written. */
  private claim(b: Buffer, off: number, id: number): void {
    const o = this.order!;
    const ps = this.pageSize;
    const overflow = o.u32(b, off + 12);
    if (overflow < 2) return;
    const last = id + overflow;
    const keepAll = () => this.keep([[id + 1, last + 1]]);
    const count = o.u16(b, off + 10);
    const tableEnd = PAGE_HEADER_SIZE + count * ELEMENT_SIZE;
    if (o.u16(b, off + 8) !== PageFlag.leaf || tableEnd > ps) return keepAll();
    const runBytes = (overflow + 1) * ps;
    const ranges: [number, number][] = [];
    const keepBytes = (from: number, to: number) => {
      if (to > from) ranges.push([id + Math.floor(from / ps), id + Math.floor((to - 1) / ps) + 1]);
    };
    for (let i = 0; i < count; i++) {
      const eo = off + PAGE_HEADER_SIZE + i * ELEMENT_SIZE;
      const keyStart = PAGE_HEADER_SIZE + i * ELEMENT_SIZE + o.u32(b, eo + 4);
      const valueStart = keyStart + o.u32(b, eo + 8);
      const valueEnd = valueStart + o.u32(b, eo + 12);
      // A sub-bucket's value is read whole; bounds outside the run are the structure check's to report.
      if (o.u32(b, eo) & BUCKET_LEAF_FLAG || valueEnd > runBytes) return keepAll();
      keepBytes(keyStart, valueStart);
      keepBytes(valueStart, Math.min(valueEnd, valueStart + VALUE_HEAD_BYTES));
      keepBytes(Math.max(valueStart, valueEnd - VALUE_TAIL_BYTES), valueEnd);
    }
    this.keep(ranges);
    this.innerEnd = Math.max(this.innerEnd, last + 1);
  }

  private keep(ranges: [number, number][]): void {
    const all = this.kept.concat(ranges).sort((a, b) => a[0] - b[0]);
    const merged: [number, number][] = [];
    for (const [from, to] of all) {
      const prev = merged[merged.length - 1];
      if (prev && from <= prev[1]) prev[1] = Math.max(prev[1], to);
      else merged.push([from, to]);
    }
    this.kept = merged;
  }

  private isKept(id: number): boolean {
    while (this.kept.length > 0 && this.kept[0]![1] <= id) this.kept.shift();
    return this.kept.length > 0 && this.kept[0]![0] <= id;
  }

  private put(bytes: Buffer, at: number): void {
    for (let done = 0; done < bytes.length;)
      done += writeSync(this.fd, bytes, done, bytes.length - done, at + done);
    this.written += bytes.length;
  }
}
