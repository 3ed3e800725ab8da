/**
 * A sparse copy of a bbolt file: some pages were not written (they read as zeros), and the CRC-32C of each
 * of them is known. `backup create` spools such a copy (src/backup/sparse-spool.ts): the inner pages of
 * large values are the bulk of many databases, and the inspection needs them only for checksums, which it
 * takes from here. A read that touches a page that was not kept is refused (PageNotKeptError) rather than
 * answered with zeros.
 */
import { LifeboatError } from '../util/errors.js';

export interface PageHoles {
  pageSize: number;
  /** Runs of consecutive pages not kept, ascending: first page id and page count of each. */
  starts: Uint32Array;
  counts: Uint32Array;
  /** CRC-32C of each run's bytes, parallel to `starts`. */
  crcs: Uint32Array;
}

/** Bytes of a sparse copy of `size` bytes that were kept. */
export function keptBytes(holes: PageHoles, size: number): number {
  let left = 0;
  for (const n of holes.counts) left += n;
  return size - left * holes.pageSize;
}

/** A read needed a page the sparse copy does not hold. */
export class PageNotKeptError extends LifeboatError {
  constructor(
    readonly file: string,
    readonly page: number,
  ) {
    super(`${file}: page ${page} is not in this sparse copy (only its checksum was kept)`);
  }
}

/** Index of the first run that ends after `page` (starts.length when none). */
function firstRunEndingAfter(h: PageHoles, page: number): number {
  let lo = 0;
  let hi = h.starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (h.starts[mid]! + h.counts[mid]! <= page) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Throws PageNotKeptError when bytes [pos, pos + len) touch a page that was not kept. */
export function checkKept(holes: PageHoles, file: string, pos: number, len: number): void {
  if (len <= 0 || holes.starts.length === 0) return;
  const first = Math.floor(pos / holes.pageSize);
  const last = Math.floor((pos + len - 1) / holes.pageSize);
  const i = firstRunEndingAfter(holes, first);
  if (i < holes.starts.length && holes.starts[i]! <= last) {
    throw new PageNotKeptError(file, Math.max(first, holes.starts[i]!));
  }
}

/**
 * Splits bytes [pos, pos + len) into pieces in order: kept ranges to read, and whole runs of pages that
 * were not kept, with their CRC. A range that covers only part of such a run throws PageNotKeptError.
 */
export function splitByHoles(
  holes: PageHoles,
  file: string,
  pos: number,
  len: number,
  onRange: (pos: number, len: number) => void,
  onHole: (crc: number, len: number) => void,
): void {
  const ps = holes.pageSize;
  const end = pos + len;
  let at = pos;
  for (let i = firstRunEndingAfter(holes, Math.floor(pos / ps)); at < end; i++) {
    const runStart = i < holes.starts.length ? holes.starts[i]! * ps : Infinity;
    if (runStart >= end) {
      onRange(at, end - at);
      return;
    }
    const runEnd = runStart + holes.counts[i]! * ps;
    if (runStart < at || runEnd > end) {
      throw new PageNotKeptError(file, Math.floor(Math.max(at, runStart) / ps));
    }
    if (runStart > at) onRange(at, runStart - at);
    onHole(holes.crcs[i]!, runEnd - runStart);
    at = runEnd;
  }
}
