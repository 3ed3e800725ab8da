/**
 * Checks an etcd snapshot stream while it passes through: the SHA-256 of everything but the last 32
 * bytes must equal those 32 bytes (formats.md §3.1), and both bbolt meta pages at the head of the file
 * must validate. The checks finish when the stream ends; a failure throws before the end, so whatever
 * consumes the stream (an upload, an output file) aborts instead of completing.
 */
import { createHash } from 'node:crypto';
import { META_BODY_OFFSET, META_BODY_SIZE, parseMeta } from '../bbolt/meta.js';
import { VerificationError } from '../util/errors.js';

export const TRAILER_SIZE = 32;
/** bbolt page sizes are at most 64 KiB in practice; the head capture covers both meta pages. */
const HEAD_MAX = 2 * 65536;

export interface SnapshotFacts {
  /** Bytes of the whole stream, trailer included. */
  size: bigint;
  /** SHA-256 of the whole stream (the artifact's sha256). */
  sha256: string;
  /** The trailer, i.e. etcd's SHA-256 of the bbolt bytes. */
  trailer: string;
  pageSize: number;
  /** txid of the meta bbolt would choose. */
  txid: bigint;
}

export type TrailerState = 'match' | 'mismatch' | 'absent';

export class SnapshotChecker {
  /**
   * One SHA-256 pass serves both digests: it covers everything but the held-back last 32 bytes (the
   * trailer's input); at the end a copy of its state takes those 32 bytes to give the whole stream's digest.
   */
  private readonly db = createHash('sha256');
  private held = Buffer.alloc(0);
  private head: Buffer[] = [];
  private headLen = 0;
  size = 0;

  constructor(private readonly what: string) {}

  update(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.headLen < HEAD_MAX) {
      const part = chunk.subarray(0, HEAD_MAX - this.headLen);
      this.head.push(Buffer.from(part));
      this.headLen += part.length;
    }
    if (chunk.length >= TRAILER_SIZE) {
      if (this.held.length) this.db.update(this.held);
      this.db.update(chunk.subarray(0, chunk.length - TRAILER_SIZE));
      this.held = Buffer.from(chunk.subarray(chunk.length - TRAILER_SIZE));
    } else {
      const both = Buffer.concat([this.held, chunk]);
      const keep = Math.min(TRAILER_SIZE, both.length);
      this.db.update(both.subarray(0, both.length - keep));
      this.held = Buffer.from(both.subarray(both.length - keep));
    }
  }

  /** Finishes the checks; throws VerificationError when the trailer or a meta page is bad. */
  finish(): SnapshotFacts {
    const n = this.size;
    if (n % 512 !== TRAILER_SIZE || n < 2 * 4096) {
      throw new VerificationError(
        `${this.what}: snapshot has no sha256 trailer (size ${n} bytes; expected size % 512 == 32): the stream was truncated`,
      );
    }
    const full = this.db.copy().update(this.held).digest('hex');
    const digest = this.db.digest();
    if (!digest.equals(this.held)) {
      throw new VerificationError(
        `${this.what}: sha256 trailer mismatch: computed ${digest.toString('hex')}, trailer says ${this.held.toString('hex')}`,
      );
    }
    const head = Buffer.concat(this.head);
    const m0 = parseMeta(head.subarray(META_BODY_OFFSET, META_BODY_OFFSET + META_BODY_SIZE), 0);
    if ('problem' in m0) throw new VerificationError(`${this.what}: bbolt meta page 0: ${m0.problem}`);
    const pageSize = m0.meta.pageSize;
    const off1 = pageSize + META_BODY_OFFSET;
    const m1 = parseMeta(head.subarray(off1, off1 + META_BODY_SIZE), 1);
    if ('problem' in m1) throw new VerificationError(`${this.what}: bbolt meta page 1: ${m1.problem}`);
    if (m1.meta.pageSize !== pageSize) {
      throw new VerificationError(
        `${this.what}: bbolt meta pages disagree on the page size (${pageSize} vs ${m1.meta.pageSize})`,
      );
    }
    return {
      size: BigInt(n),
      sha256: full,
      trailer: this.held.toString('hex'),
      pageSize,
      txid: m0.meta.txid > m1.meta.txid ? m0.meta.txid : m1.meta.txid,
    };
  }
}
