/**
 * Maps of byte strings without a JS object or string per key: key bytes are copied into one growing arena
 * and found through an open-addressing table. For walks over millions of revisions (status, file-order
 * listings, HashKV) where a Map<string, …> spends most of its time allocating strings and in the garbage
 * collector.
 */

/** Byte string → a non-negative number (a safe integer). Entries keep their insertion order. */
export class ByteKeyMap {
  private arena = Buffer.allocUnsafe(1 << 20);
  private arenaUsed = 0;
  /** Per entry: arena offset, length, hash, value. */
  private offsets = new Float64Array(1 << 12);
  private lengths = new Int32Array(1 << 12);
  private hashes = new Int32Array(1 << 12);
  private values = new Float64Array(1 << 12);
  private count = 0;
  /** Slot → entry index + 1 (0 = empty). Size is a power of two, kept at most half full. */
  private slots = new Int32Array(1 << 13);

  /** Number of distinct keys. */
  get size(): number {
    return this.count;
  }

  /** The i-th key inserted (0 ≤ i < size): a view of the map's memory, valid until the next `set`. */
  keyAt(i: number): Buffer {
    const o = this.offsets[i]!;
    return this.arena.subarray(o, o + this.lengths[i]!);
  }

  /** The value of the i-th key inserted (0 ≤ i < size). */
  valueAt(i: number): number {
    return this.values[i]!;
  }

  /** Sets the value of the key b[start, end); returns its previous value, or -1 when the key is new. */
  set(b: Uint8Array, start: number, end: number, value: number): number {
    const len = end - start;
    let h = 0x811c9dc5 ^ len;
    for (let i = start; i < end; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
    const mask = this.slots.length - 1;
    let s = h & mask;
    for (;;) {
      const e = this.slots[s]!;
      if (e === 0) break;
      const k = e - 1;
      if (this.hashes[k] === h && this.lengths[k] === len && this.equals(k, b, start, len)) {
        const old = this.values[k]!;
        this.values[k] = value;
        return old;
      }
      s = (s + 1) & mask;
    }
    this.add(h, b, start, len, s, value);
    return -1;
  }

  private equals(k: number, b: Uint8Array, start: number, len: number): boolean {
    const a = this.arena;
    const o = this.offsets[k]!;
    for (let i = 0; i < len; i++) if (a[o + i] !== b[start + i]) return false;
    return true;
  }

  private add(h: number, b: Uint8Array, start: number, len: number, slot: number, value: number): void {
    if (this.arenaUsed + len > this.arena.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.arena.length * 2, this.arenaUsed + len));
      this.arena.copy(bigger, 0, 0, this.arenaUsed);
      this.arena = bigger;
    }
    const k = this.count;
    if (k === this.lengths.length) this.growEntries();
    this.arena.set(b.subarray(start, start + len), this.arenaUsed);
    this.offsets[k] = this.arenaUsed;
    this.arenaUsed += len;
    this.lengths[k] = len;
    this.hashes[k] = h;
    this.values[k] = value;
    this.count++;
    this.slots[slot] = k + 1;
    if (this.count * 2 > this.slots.length) this.rehash();
  }

  private growEntries(): void {
    const n = this.lengths.length * 2;
    const grow = <T extends Float64Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.offsets = grow(this.offsets, (m) => new Float64Array(m));
    this.lengths = grow(this.lengths, (m) => new Int32Array(m));
    this.hashes = grow(this.hashes, (m) => new Int32Array(m));
    this.values = grow(this.values, (m) => new Float64Array(m));
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let k = 0; k < this.count; k++) {
      let s = this.hashes[k]! & mask;
      while (slots[s] !== 0) s = (s + 1) & mask;
      slots[s] = k + 1;
    }
    this.slots = slots;
  }
}

/** Keys marked alive (a put) or dead (a delete); counts the keys whose last mark is alive. */
export class ByteKeySet {
  private readonly map = new ByteKeyMap();
  private liveCount = 0;

  /** Number of distinct keys marked alive. */
  get live(): number {
    return this.liveCount;
  }

  /** Marks the key b[start, end) alive (a put) or dead (a delete). */
  mark(b: Uint8Array, start: number, end: number, isAlive: boolean): void {
    const old = this.map.set(b, start, end, isAlive ? 1 : 0);
    if (isAlive && old !== 1) this.liveCount++;
    else if (!isAlive && old === 1) this.liveCount--;
  }
}
