/**
 * Storage bytes as text: UTF-8 decoding the way Go keeps strings (invalid sequences become U+FFFD, a leading
 * BOM stays — unlike TextDecoder, which drops it), with a fast path for the short ASCII strings that most
 * names, label keys and verbs are; and Buffer views of Uint8Arrays without copying.
 */
interface FastSlices {
  latin1Slice?(start: number, end: number): string;
  utf8Slice?(start: number, end: number): string;
}
const proto = Buffer.prototype as unknown as FastSlices;
const hasFastSlices = typeof proto.latin1Slice === 'function' && typeof proto.utf8Slice === 'function';

/**
 * UTF-8 text of buf[start, end), as Go keeps it (invalid sequences become U+FFFD; a leading BOM stays).
 * Short ASCII strings — most names, label keys and verbs — skip the UTF-8 decoder.
 */
export function utf8Text(buf: Buffer, start: number, end: number): string {
  if (start >= end) return '';
  if (!hasFastSlices) return buf.toString('utf8', start, end);
  const f = buf as unknown as Required<FastSlices>;
  if (end - start <= 16) {
    for (let i = start; i < end; i++) if (buf[i]! >= 0x80) return f.utf8Slice(start, end);
    return f.latin1Slice(start, end);
  }
  return f.utf8Slice(start, end);
}

/** UTF-8 text of a whole Uint8Array that need not be a Buffer (as utf8Text; no Buffer view is made). */
export function bytesText(b: Uint8Array): string {
  if (b.length === 0) return '';
  if (Buffer.isBuffer(b) || !hasFastSlices) return utf8Text(asBuffer(b), 0, b.length);
  return proto.utf8Slice!.call(b, 0, b.length);
}

/** A Buffer view of the same bytes (no copy). */
export function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
