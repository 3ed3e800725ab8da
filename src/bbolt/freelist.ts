/**
 * bbolt freelist page (formats.md §1.6): `count` u64 page ids after the header; count 0xFFFF means the real
 * count is the first u64. Never trusted for reading data, only for accounting free pages.
 */
import { CorruptInputError } from '../util/errors.js';
import type { Page } from './page.js';
import { PAGE_HEADER_SIZE } from './page.js';

export function freelistIds(page: Page): number[] {
  let count = page.count;
  let off = PAGE_HEADER_SIZE;
  if (count === 0xffff) {
    count = page.order.u64n(page.slice(off, 8), 0);
    off += 8;
  }
  if (off + count * 8 > page.fullLength) {
    throw new CorruptInputError(
      page.file,
      `freelist count ${count} does not fit in the page (${page.fullLength} bytes)`,
      `page ${page.pgid}`,
    );
  }
  const b = page.slice(off, count * 8);
  const ids: number[] = [];
  for (let i = 0; i < count; i++) ids.push(page.order.u64n(b, i * 8));
  return ids;
}
