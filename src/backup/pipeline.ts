/**
 * The per-byte stages of `backup create`, between the member's snapshot stream and the repository: the
 * trailer and meta-page checks (snapshot-stream.ts), the plain spool copy, compression, age encryption, and
 * the SHA-256 and size of the stored bytes. They run on one thread, usually a worker (pipeline-worker.ts),
 * so the thread that receives the gRPC stream does nothing else per byte.
 *
 * Input arrives in batches through write(); end() finishes the plain-side checks and reports them as soon
 * as the last plain byte is spooled (the inspection can start while the tail is still being compressed,
 * encrypted and written); `output` carries the stored bytes; stored() is their digest once it has ended.
 */
import { createHash } from 'node:crypto';
import { pipeline, Readable, Transform, type TransformCallback } from 'node:stream';
import { compressor, type Compression } from './compression.js';
import { encryptStream } from './encryption.js';
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

/** Counts and hashes the bytes that go into the repository. */
class StoredHasher extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

/** A readable fed by push(); `wanted()` resolves when it asks for more (its buffer drained). */
class PushSource extends Readable {
  private waiting: (() => void) | undefined;
  constructor(highWaterMark: number) {
    super({ highWaterMark });
  }
  override _read(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }
  wanted(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }
}

export class Stages {
  private readonly checker: SnapshotChecker;
  private readonly source: PushSource;
  private readonly hasher = new StoredHasher();
  private spoolError: string | undefined;
  private readonly spoolWriter: SparseSpoolWriter | undefined;
  readonly output: Readable;

  constructor(cfg: PipelineConfig) {
    this.checker = new SnapshotChecker(cfg.what);
    if (cfg.spoolFd !== undefined) this.spoolWriter = new SparseSpoolWriter(cfg.spoolFd);
    this.source = new PushSource(4 << 20);
    const compressed = pipeline(
      this.source,
      compressor(cfg.compression, cfg.compressionLevel),
      () => undefined,
    );
    const encrypted = cfg.recipients.length ? encryptStream(compressed, cfg.recipients) : compressed;
    this.output = pipeline(encrypted, this.hasher, () => undefined);
  }

  /** Checks, spools and queues one batch; resolves when the stages can take the next. */
  async write(batch: Buffer): Promise<void> {
    this.checker.update(batch);
    this.spool(batch);
    if (!this.source.push(batch)) await this.source.wanted();
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

  /** The last plain byte is in: the trailer and meta pages are checked (throws VerificationError). */
  end(): PlainDone {
    const facts = this.checker.finish();
    this.source.push(null);
    const w = this.spoolWriter;
    if (!w || this.spoolError) return { facts, ...(this.spoolError ? { spoolError: this.spoolError } : {}) };
    try {
      const holes = w.finish();
      return { facts, spooledBytes: w.written, ...(holes ? { holes } : {}) };
    } catch (err) {
      return { facts, spoolError: (err as Error).message };
    }
  }

  /** Stops every stage with the error (the output fails with it). */
  fail(err: Error): void {
    this.source.destroy(err);
    this.output.destroy(err);
  }

  /** The stored bytes' digest and size; valid once `output` has ended. */
  stored(): StoredDone {
    return { storedSha256: this.hasher.hash.digest('hex'), storedBytes: this.hasher.bytes };
  }
}
