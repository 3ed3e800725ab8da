/**
 * Compression of backup artifacts: zstd, gzip (node:zlib) or none. Both directions are streaming
 * Transforms, so a snapshot never sits in memory whole.
 *
 * zstd is written with @mongodb-js/zstd (native libzstd in a prebuilt binary shipped as an npm package;
 * it compresses on libuv's thread pool, so two chunks compress in parallel and off the main thread,
 * ~3× the WebAssembly build's speed at level 1) as a sequence of independent frames, one per input chunk
 * (the zstd format allows concatenated frames; every decoder, fzstd and the zstd CLI included, reads
 * them as one stream). Where the native binary does not load, @hpcc-js/wasm-zstd (WebAssembly, shipped in
 * the npm package) writes one streaming frame. Reading uses fzstd (pure JavaScript).
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

/** One whole zstd frame per call: native when its binary loads for this platform, else WebAssembly. */
async function zstdFrames(prefer: ZstdImplementation): Promise<FrameCompress> {
  if (prefer === 'wasm') return wasm();
  nativeFrames ??= import('@mongodb-js/zstd').then(
    (m) => m.compress as FrameCompress,
    () => undefined,
  );
  return (await nativeFrames) ?? wasm();
}

/** Input is cut into frames of this size. */
const FRAME = 1 << 20;
/** Frames compressing at once on the thread pool (2 cores: the receive and the writes need the rest). */
const IN_FLIGHT = 2;

/** zstd as independent frames, compressed in parallel and emitted in order. */
class ZstdCompressor extends Transform {
  private readonly fn: Promise<FrameCompress>;
  private readonly inFlight: Promise<Buffer>[] = [];
  private pending: Buffer[] = [];
  private pendingLen = 0;

  constructor(
    private readonly level: number,
    implementation: ZstdImplementation,
  ) {
    super({ highWaterMark: 4 * FRAME });
    this.fn = zstdFrames(implementation);
  }

  private cut(all: boolean): void {
    while (this.pendingLen >= FRAME || (all && this.pendingLen > 0)) {
      const buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
      const n = Math.min(FRAME, buf.length);
      const frame = buf.subarray(0, n);
      const p = this.fn.then((c) => c(frame, this.level));
      p.catch(() => undefined); // awaited in order by drainTo; never unhandled meanwhile
      this.inFlight.push(p);
      const rest = buf.subarray(n);
      this.pending = rest.length ? [rest] : [];
      this.pendingLen = rest.length;
    }
  }

  private async drainTo(limit: number): Promise<void> {
    while (this.inFlight.length > limit) {
      const out = await this.inFlight.shift()!;
      if (out.length) this.push(out);
    }
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.pending.push(chunk);
    this.pendingLen += chunk.length;
    this.cut(false);
    this.drainTo(IN_FLIGHT - 1).then(
      () => cb(),
      (err: Error) => cb(new Error(`zstd: ${err.message}`)),
    );
  }

  override _flush(cb: TransformCallback): void {
    this.cut(true);
    this.drainTo(0).then(
      () => cb(),
      (err: Error) => cb(new Error(`zstd: ${err.message}`)),
    );
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
