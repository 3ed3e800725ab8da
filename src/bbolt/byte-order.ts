/**
 * bbolt writes its structures in the writer's native byte order (formats.md §1.1). The meta magic tells
 * which: `ed da 0c ed` on little-endian writers, `ed 0c da ed` on big-endian ones. Every bbolt integer read
 * goes through one of these two readers.
 */
export interface ByteOrder {
  readonly littleEndian: boolean;
  u16(b: Buffer, off: number): number;
  u32(b: Buffer, off: number): number;
  /** u64 as bigint (exact). */
  u64(b: Buffer, off: number): bigint;
  /** u64 as a number; callers use it only for page ids bounded by the file size. */
  u64n(b: Buffer, off: number): number;
}

/** The RangeError Buffer's readers throw for bytes [o, o + n) outside `b` (or a fractional offset). */
function checkRange(b: Buffer, o: number, n: number): void {
  if (!((o | 0) === o && o >= 0 && o + n <= b.length)) {
    throw new RangeError(
      `The value of "offset" is out of range. It must be >= 0 and <= ${b.length - n}. Received ${o}`,
    );
  }
}

/**
 * Little-endian (every common platform): u16/u32/u64n from the bytes themselves, with Buffer's range check.
 * These run for every element of every page read; calling Buffer's readers costs the one-shot CLI ~10 ms on
 * a 100k-key listing (they are still unoptimised code when most of the calls happen).
 */
export const LE: ByteOrder = {
  littleEndian: true,
  u16: (b, o) => {
    checkRange(b, o, 2);
    return b[o]! | (b[o + 1]! << 8);
  },
  u32: (b, o) => {
    checkRange(b, o, 4);
    return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x100_0000;
  },
  u64: (b, o) => b.readBigUInt64LE(o),
  u64n: (b, o) => {
    checkRange(b, o, 8);
    const lo = (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x100_0000;
    const hi = (b[o + 4]! | (b[o + 5]! << 8) | (b[o + 6]! << 16)) + b[o + 7]! * 0x100_0000;
    return lo + hi * 0x1_0000_0000;
  },
};

export const BE: ByteOrder = {
  littleEndian: false,
  u16: (b, o) => b.readUInt16BE(o),
  u32: (b, o) => b.readUInt32BE(o),
  u64: (b, o) => b.readBigUInt64BE(o),
  u64n: (b, o) => b.readUInt32BE(o) * 0x1_0000_0000 + b.readUInt32BE(o + 4),
};
