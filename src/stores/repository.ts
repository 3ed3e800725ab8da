/**
 * The backup repository interface: a flat namespace of write-once objects. Implementations: a directory
 * (file.ts) and S3 or an S3-compatible store (s3.ts). The conformance suite in
 * test/*\/stores/conformance.ts runs against every implementation.
 */
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  key: string;
  size: number;
  modified: Date;
}

export interface PutOptions {
  signal?: AbortSignal;
  /** Called with the number of bytes accepted so far. */
  onProgress?: (bytes: number) => void;
  /**
   * Called with a chunk of a stream body once put() no longer needs its bytes, so the caller may reuse the
   * memory. Optional for implementations: a chunk never handed back is simply not reused.
   */
  release?: (chunk: Uint8Array) => void;
}

export interface Repository {
  /** The repository's location for logs and metrics labels, without credentials. */
  readonly location: string;
  /**
   * Writes an object from a stream. The object becomes visible only when complete; an object that already
   * exists is never replaced (RefusedError); on any failure nothing is left behind and the error is thrown.
   */
  put(key: string, body: Readable | Uint8Array, opts?: PutOptions): Promise<{ size: number }>;
  /** Reads an object as a stream; NotFoundError if it does not exist. */
  get(key: string): Promise<Readable>;
  /** Reads a small object whole. */
  getBytes(key: string): Promise<Buffer>;
  stat(key: string): Promise<ObjectInfo | undefined>;
  /** Every object whose key starts with prefix, sorted by key. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Removes an object; removing a missing object is not an error. */
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}
