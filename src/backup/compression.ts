/**
 * Compression of backup artifacts: zstd (written with @hpcc-js/wasm-zstd, a WebAssembly build shipped in
 * the npm package; read with fzstd, pure JavaScript), gzip (node:zlib) or none. Both directions are
 * streaming Transforms, so a snapshot never sits in memory whole.
 */
import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import { createGunzip, createGzip, constants as zc } from 'node:zlib';
import { Decompress } from 'fzstd';
import { UsageError } from '../util/errors.js';

export type Compression = 'zstd' | 'gzip' | 'none';
export const COMPRESSIONS: Compression[] = ['zstd', 'gzip', 'none'];

export function parseCompression(v: string): Compression {
  if ((COMPRESSIONS as string[]).includes(v)) return v as Compression;
  throw new UsageError(`--compress: expected zstd, gzip or none, found '${v}'`);
}

interface ZstdWasm {
  reset(): void;
  setCompressionLevel(level: number): void;
  compressChunk(data: Uint8Array): Uint8Array;
  compressEnd(): Uint8Array;
}

let zstdInstance: Promise<ZstdWasm> | undefined;
/** The WASM module holds one streaming context: compressions in one process take turns. */
let zstdQueue: Promise<void> = Promise.resolve();

async function zstd(): Promise<ZstdWasm> {
  if (!zstdInstance) {
    zstdInstance = import('@hpcc-js/wasm-zstd').then((m) => m.Zstd.load() as Promise<ZstdWasm>);
  }
  return zstdInstance;
}

class ZstdCompressor extends Transform {
  private z: ZstdWasm | undefined;
  private release: (() => void) | undefined;
  private readonly ready: Promise<void>;

  constructor(private readonly level: number) {
    super();
    this.ready = (async () => {
      const z = await zstd();
      const prev = zstdQueue;
      let release!: () => void;
      zstdQueue = new Promise<void>((r) => (release = r));
      await prev;
      this.release = release;
      z.reset();
      z.setCompressionLevel(this.level);
      this.z = z;
    })();
  }

  private done(): void {
    this.release?.();
    this.release = undefined;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.ready.then(
      () => {
        try {
          const out = this.z!.compressChunk(chunk);
          if (out.length) this.push(Buffer.from(out));
          cb();
        } catch (err) {
          cb(err as Error);
        }
      },
      (err: Error) => cb(err),
    );
  }

  override _flush(cb: TransformCallback): void {
    this.ready.then(
      () => {
        try {
          const out = this.z!.compressEnd();
          if (out.length) this.push(Buffer.from(out));
          this.done();
          cb();
        } catch (err) {
          this.done();
          cb(err as Error);
        }
      },
      (err: Error) => cb(err),
    );
  }

  override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
    this.ready.finally(() => this.done()).catch(() => undefined);
    cb(err);
  }
}

class ZstdDecompressor extends Transform {
  private readonly d = new Decompress((chunk) => {
    this.push(Buffer.from(chunk));
  });

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.d.push(chunk, false);
      cb();
    } catch (err) {
      cb(new Error(`zstd: ${(err as Error).message}`));
    }
  }

  override _flush(cb: TransformCallback): void {
    try {
      this.d.push(new Uint8Array(0), true);
      cb();
    } catch (err) {
      cb(new Error(`zstd: ${(err as Error).message}`));
    }
  }
}

export function compressor(kind: Compression, level?: number): Transform {
  switch (kind) {
    case 'zstd':
      return new ZstdCompressor(level ?? 3);
    case 'gzip':
      return createGzip({ level: level ?? zc.Z_DEFAULT_COMPRESSION });
    case 'none':
      return new PassThrough();
  }
}

export function decompressor(kind: Compression): Transform {
  switch (kind) {
    case 'zstd':
      return new ZstdDecompressor();
    case 'gzip':
      return createGunzip();
    case 'none':
      return new PassThrough();
  }
}
