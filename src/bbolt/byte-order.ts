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

export const LE: ByteOrder = {
  littleEndian: true,
  u16: (b, o) => b.readUInt16LE(o),
  u32: (b, o) => b.readUInt32LE(o),
  u64: (b, o) => b.readBigUInt64LE(o),
  u64n: (b, o) => b.readUInt32LE(o) + b.readUInt32LE(o + 4) * 0x1_0000_0000,
};

export const BE: ByteOrder = {
  littleEndian: false,
  u16: (b, o) => b.readUInt16BE(o),
  u32: (b, o) => b.readUInt32BE(o),
  u64: (b, o) => b.readBigUInt64BE(o),
  u64n: (b, o) => b.readUInt32BE(o) * 0x1_0000_0000 + b.readUInt32BE(o + 4),
};
