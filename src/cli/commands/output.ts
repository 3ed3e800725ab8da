/**
 * Where the snapshot and kv commands write results: stdout, with back-pressure so that large listings stay
 * in bounded memory, and small pieces gathered into larger writes. Tests that run the commands in-process
 * swap `sink.write` for a collector.
 */
export const sink = {
  write(data: string | Buffer): boolean {
    return process.stdout.write(data);
  },
  drain(): Promise<void> {
    return new Promise<void>((r) => process.stdout.once('drain', () => r()));
  },
};

export async function out(data: string | Buffer): Promise<void> {
  if (!sink.write(data)) await sink.drain();
}

/**
 * Gathers small writes into chunks of about 256 KiB (copying them, so callers may reuse their buffers);
 * call `flush()` at the end.
 */
export class BufferedOut {
  private chunk = Buffer.allocUnsafe(1 << 18);
  private size = 0;

  /** Returns a promise only when it had to write out (await it then); undefined when it just copied. */
  write(data: string | Buffer): Promise<void> | undefined {
    // A string that surely fits (at most 3 bytes of UTF-8 per UTF-16 unit) is encoded straight in.
    if (typeof data === 'string' && this.size + data.length * 3 <= this.chunk.length) {
      this.size += this.chunk.write(data, this.size, 'utf8');
      return undefined;
    }
    const b = typeof data === 'string' ? Buffer.from(data) : data;
    if (this.size + b.length > this.chunk.length || b.length >= this.chunk.length) return this.writeOut(b);
    this.chunk.set(b, this.size);
    this.size += b.length;
    return undefined;
  }

  /** Like `write`, for a string of bytes as latin1 (one char per byte), copied without an interim Buffer. */
  writeLatin1(s: string): Promise<void> | undefined {
    if (this.size + s.length > this.chunk.length || s.length >= this.chunk.length)
      return this.writeOut(Buffer.from(s, 'latin1'));
    this.size += this.chunk.write(s, this.size, 'latin1');
    return undefined;
  }

  private async writeOut(b: Buffer): Promise<void> {
    await this.flush();
    if (b.length >= this.chunk.length) {
      await out(b);
      return;
    }
    this.chunk.set(b, this.size);
    this.size += b.length;
  }

  async flush(): Promise<void> {
    if (this.size === 0) return;
    const b = this.chunk.subarray(0, this.size);
    this.chunk = Buffer.allocUnsafe(1 << 18);
    this.size = 0;
    await out(b);
  }
}
