/**
 * The per-byte stages of `backup create`, between the member's snapshot stream and the repository: the
 * trailer and meta-page checks (snapshot-stream.ts), the plain spool copy, compression, age encryption, and
 * the SHA-256 and size of the stored bytes. They run on one thread, usually a worker (pipeline-worker.ts),
 * so the thread that receives the gRPC stream does nothing else per byte.
 *
 * Input arrives in batches through write(); end() finishes the plain-side checks and reports them as soon
 * as the last plain byte is spooled (the inspection can start while the tail is still being compressed,
 * encrypted and written); finish() then stores the tail and gives the stored bytes' digest. The stored bytes
 * are packed into buffers the sink hands out, so the thread can recycle the same few buffers (fresh memory
 * costs page faults and garbage collections); a batch is released for reuse as soon as no stage needs it.
 */
import { createHash } from 'node:crypto';
import { createGzip, constants as zc, type Gzip } from 'node:zlib';
import { AgeSealer } from './age-stream.js';
import { ZstdFrames, type Compression } from './compression.js';
import { SnapshotChecker, type SnapshotFacts } from './snapshot-stream.js';
import { SparseSpoolWriter } from './sparse-spool.js';
import type { PageHoles } from '../bbolt/sparse.js';

export interface PipelineConfig {
  /** Names the source in errors ("snapshot from https://…"). */
  what: string;
  compression: Compression;
  compressionLevel?: number;
  /** age recipients; none: stored unencrypted. */
  recipients: string[];
  /** An open file the plain bytes are copied to, sparsely (the spool); its owner closes it. */
  spoolFd?: number;
}

export interface PlainDone {
  facts: SnapshotFacts;
  /** Why the spool copy is incomplete (a write failed: disk full, …); undefined when it is whole. */
  spoolError?: string;
  /** The pages the sparse spool did not write, with their CRCs (sparse-spool.ts); none: all written. */
  holes?: PageHoles;
  /** Bytes written to the spool. */
  spooledBytes?: number;
}

export interface StoredDone {
  storedSha256: string;
  storedBytes: number;
}

/** Where the stored bytes go: buffers to fill (recycled ones when there are), filled in order. */
export interface StoredSink {
  /** An empty buffer to fill (any size; its memory then belongs to the stages until given to `put`). */
  take(): Buffer;
  /** The next stored bytes: a filled buffer, or the start of one. */
  put(bytes: Buffer): void;
  /** Resolves when the consumer can take more. */
  ready(): Promise<void>;
}

export class Stages {
  private readonly checker: SnapshotChecker;
  private spoolError: string | undefined;
  private readonly spoolWriter: SparseSpoolWriter | undefined;
  private readonly zstd: ZstdFrames | undefined;
  private readonly gzip: Gzip | undefined;
  private gzipError: Error | undefined;
  private readonly sealer: AgeSealer | undefined;
  private readonly pieces: Buffer[] = [];
  private readonly hash = createHash('sha256');
  private storedBytes = 0;
  /** The buffer being filled with stored bytes, and how much of it is. */
  private out: Buffer | undefined;
  private outLen = 0;
  private readonly toStore = (b: Buffer) => this.store(b);

  constructor(
    cfg: PipelineConfig,
    private readonly sink: StoredSink,
  ) {
    this.checker = new SnapshotChecker(cfg.what);
    if (cfg.spoolFd !== undefined) this.spoolWriter = new SparseSpoolWriter(cfg.spoolFd);
    if (cfg.compression === 'zstd') this.zstd = new ZstdFrames(cfg.compressionLevel ?? 3);
    if (cfg.compression === 'gzip') {
      this.gzip = createGzip({ level: cfg.compressionLevel ?? zc.Z_DEFAULT_COMPRESSION });
      this.gzip.on('data', this.toStore);
      this.gzip.on('error', (err) => (this.gzipError ??= err));
    }
    if (cfg.recipients.length) this.sealer = new AgeSealer(cfg.recipients);
  }

  /**
   * Checks, spools, compresses and encrypts one batch; resolves when the stages can take the next.
   * `release` is called once the batch's memory is no longer used (not at all for gzip).
   */
  async write(batch: Buffer, release: () => void = () => undefined): Promise<void> {
    this.checker.update(batch);
    this.spool(batch);
    if (this.zstd) {
      await this.zstd.add(batch, release, this.toStore);
    } else if (this.gzip) {
      const gz = this.gzip;
      await new Promise<void>((resolve, reject) => {
        gz.write(batch, (err) => (err ? reject(err) : resolve()));
      });
    } else {
      this.store(batch);
      release();
    }
    if (this.gzipError) throw this.gzipError;
    await this.sink.ready();
  }

  private spool(batch: Buffer): void {
    if (!this.spoolWriter || this.spoolError) return;
    try {
      this.spoolWriter.write(batch);
    } catch (err) {
      // A spool that fails (disk full) only costs the structure check, not the backup.
      this.spoolError = (err as Error).message;
    }
  }

  /** Compressed bytes in: encrypted, then packed into the sink's buffers (copied: `bytes` is not kept). */
  private store(bytes: Buffer): void {
    if (!this.sealer) return this.pack(bytes);
    const pieces = this.pieces;
    this.sealer.update(bytes, pieces);
    for (const p of pieces) this.pack(p);
    pieces.length = 0;
  }

  private pack(bytes: Buffer): void {
    for (let off = 0; off < bytes.length;) {
      this.out ??= this.sink.take();
      const n = bytes.copy(this.out, this.outLen, off);
      off += n;
      this.outLen += n;
      if (this.outLen === this.out.length) this.emit();
    }
  }

  private emit(): void {
    const out = this.out;
    if (!out || this.outLen === 0) return;
    const bytes = this.outLen === out.length ? out : out.subarray(0, this.outLen);
    this.out = undefined;
    this.outLen = 0;
    this.hash.update(bytes);
    this.storedBytes += bytes.length;
    this.sink.put(bytes);
  }

  /** The last plain byte is in: the trailer and meta pages are checked (throws VerificationError). */
  end(): PlainDone {
    const facts = this.checker.finish();
    const w = this.spoolWriter;
    if (!w || this.spoolError) return { facts, ...(this.spoolError ? { spoolError: this.spoolError } : {}) };
    try {
      const holes = w.finish();
      return { facts, spooledBytes: w.written, ...(holes ? { holes } : {}) };
    } catch (err) {
      return { facts, spoolError: (err as Error).message };
    }
  }

  /** After end(): compresses and encrypts the tail; resolves with the stored bytes' digest and size. */
  async finish(): Promise<StoredDone> {
    if (this.zstd) await this.zstd.finish(this.toStore);
    const gz = this.gzip;
    if (gz) {
      await new Promise<void>((resolve, reject) => {
        gz.once('end', resolve);
        gz.once('error', reject);
        gz.end();
      });
    }
    if (this.gzipError) throw this.gzipError;
    if (this.sealer) {
      const pieces = this.pieces;
      this.sealer.final(pieces);
      for (const p of pieces) this.pack(p);
      pieces.length = 0;
    }
    this.emit();
    return { storedSha256: this.hash.digest('hex'), storedBytes: this.storedBytes };
  }

  /** Stops the stages (a compression in progress ends). */
  fail(err: Error): void {
    this.gzip?.destroy(err);
  }
}
