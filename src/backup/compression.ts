/**
 * Compression of backup artifacts: zstd, gzip (node:zlib) or none. Both directions are streaming
 * Transforms, so a snapshot never sits in memory whole.
 *
 * zstd is written with @mongodb-js/zstd (native libzstd in a prebuilt binary shipped as an npm package;
 * it compresses on libuv's thread pool, so two chunks compress in parallel and off the main thread,
 * ~3× the WebAssembly build's speed at level 1) as a sequence of independent frames, one per MiB of input
 * (the zstd format allows concatenated frames; every decoder, fzstd and the zstd CLI included, reads
 * them as one stream). Where the native binary does not load, @hpcc-js/wasm-zstd (WebAssembly, shipped in
 * the npm package) makes each frame. Reading uses fzstd (pure JavaScript).
 */
import { createRequire } from 'node:module';
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

type FrameCompress = (data: Buffer, level: number) => Promise<Buffer>;
export type ZstdImplementation = 'native' | 'wasm';
let nativeFrames: Promise<FrameCompress | undefined> | undefined;
let wasmFrames: Promise<FrameCompress> | undefined;

function wasm(): Promise<FrameCompress> {
  wasmFrames ??= import('@hpcc-js/wasm-zstd').then(async (m) => {
    const z = (await m.Zstd.load()) as ZstdWasm;
    // The WebAssembly module holds one context; a frame is made synchronously, so calls never interleave.
    return async (data: Buffer, level: number) => {
      z.reset();
      z.setCompressionLevel(level);
      const head = z.compressChunk(data);
      const tail = z.compressEnd();
      return Buffer.concat([head, tail]);
    };
  });
  return wasmFrames;
}

/**
 * The native binding's compress(data, level). Called directly, not through the package's index.js: that
 * wrapper (1.2.2) passes only the data on, so every frame was made at libzstd's default level 3 whatever
 * level was asked for (≈ 2× the CPU of level 1: 577 vs 1197 MB/s on the bench's db).
 */
function loadNative(): FrameCompress | undefined {
  try {
    const require = createRequire(import.meta.url);
    const b = require('@mongodb-js/zstd/bindings.js') as {
      compress: (data: Buffer, level?: number) => Promise<Buffer>;
    };
    return (data, level) => b.compress(data, level);
  } catch {
    return undefined;
  }
}

/** One whole zstd frame per call: native when its binary loads for this platform, else WebAssembly. */
async function zstdFrames(prefer: ZstdImplementation): Promise<FrameCompress> {
  if (prefer === 'wasm') return wasm();
  nativeFrames ??= Promise.resolve(loadNative());
  return (await nativeFrames) ?? wasm();
}

/** Input is cut into frames of this size. */
const FRAME = 1 << 20;
/** Frames compressing at once on the thread pool (2 cores: the receive and the writes need the rest). */
const IN_FLIGHT = 2;

/**
 * zstd as independent FRAME-byte frames, IN_FLIGHT compressing at once, emitted in order. An input of
 * exactly one frame arriving on a frame boundary is compressed where it lies (its `release` runs once the
 * frame is made); any other input is copied into a frame buffer and released at once.
 */
export class ZstdFrames {
  private readonly fn: Promise<FrameCompress>;
  private readonly inFlight: { made: Promise<Buffer>; release: () => void }[] = [];
  private pending: Buffer | undefined;
  private pendingLen = 0;

  constructor(
    private readonly level: number,
    implementation: ZstdImplementation = 'native',
  ) {
    this.fn = zstdFrames(implementation);
  }

  private submit(frame: Buffer, release: () => void): void {
    const made = this.fn.then((c) => c(frame, this.level));
    made.catch(() => undefined); // awaited in order by drainTo; never unhandled meanwhile
    this.inFlight.push({ made, release });
  }

  private async drainTo(limit: number, emit: (frame: Buffer) => void): Promise<void> {
    while (this.inFlight.length > limit) {
      const f = this.inFlight.shift()!;
      const out = await f.made.catch((err: Error) => {
        throw new Error(`zstd: ${err.message}`);
      });
      f.release();
      if (out.length) emit(out);
    }
  }

  /** Adds input; resolves when fewer than IN_FLIGHT frames are being made (finished ones go to `emit`). */
  async add(data: Buffer, release: () => void, emit: (frame: Buffer) => void): Promise<void> {
    if (this.pendingLen === 0 && data.length === FRAME) {
      this.submit(data, release);
    } else {
      for (let off = 0; off < data.length;) {
        this.pending ??= Buffer.allocUnsafeSlow(FRAME);
        const n = data.copy(this.pending, this.pendingLen, off);
        off += n;
        this.pendingLen += n;
        if (this.pendingLen === FRAME) {
          this.submit(this.pending, () => undefined);
          this.pending = undefined;
          this.pendingLen = 0;
        }
      }
      release();
    }
    await this.drainTo(IN_FLIGHT - 1, emit);
  }

  /** Compresses what is left and emits every frame. */
  async finish(emit: (frame: Buffer) => void): Promise<void> {
    if (this.pendingLen > 0) this.submit(this.pending!.subarray(0, this.pendingLen), () => undefined);
    this.pending = undefined;
    this.pendingLen = 0;
    await this.drainTo(0, emit);
  }
}

/** ZstdFrames as a stream. */
class ZstdCompressor extends Transform {
  private readonly frames: ZstdFrames;

  constructor(level: number, implementation: ZstdImplementation) {
    super({ highWaterMark: 4 * FRAME });
    this.frames = new ZstdFrames(level, implementation);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.frames
      .add(
        chunk,
        () => undefined,
        (f) => this.push(f),
      )
      .then(() => cb(), cb);
  }

  override _flush(cb: TransformCallback): void {
    this.frames.finish((f) => this.push(f)).then(() => cb(), cb);
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

/** `zstd`: the native library unless `wasm` is asked for (tests) or it does not load. */
export function compressor(
  kind: Compression,
  level?: number,
  zstd: ZstdImplementation = 'native',
): Transform {
  switch (kind) {
    case 'zstd':
      return new ZstdCompressor(level ?? 3, zstd);
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
