/**
 * One CRC-32C over a sequence of byte pieces: bytes already in memory, and ranges of a file. Large file
 * ranges go to a queue in shared memory that a helper thread and the calling thread drain together (each
 * range's CRC is computed separately and combined in order with `crc32cCombine`), so a 1 GiB database is
 * checksummed on two cores instead of one. The caller stays synchronous: it blocks with Atomics.wait for
 * the helper's last range. When the helper never starts or dies, the caller computes what is left itself.
 */
import { readSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { splitByHoles, type PageHoles } from '../bbolt/sparse.js';
import { CorruptInputError } from '../util/errors.js';
import { crc32c, crc32cCombine } from './crc32c.js';

/** Control words in the shared Int32Array. */
/** `helped`: ranges the helper thread computed (the caller would silently do all of them without it). */
export const CTL = { published: 0, next: 1, finished: 2, failed: 3, helped: 4 } as const;
const CTL_WORDS = 5;
/** Per queued range: state (0 queued, 1 claimed, 2 done), crc. */
export const QUEUED = 0;
export const CLAIMED = 1;
export const DONE = 2;

/** File ranges at least this long are queued for the threads; shorter ones are read inline. */
const QUEUE_MIN = 16 << 10;
/** Queued ranges are cut into pieces of at most this many bytes. */
const PIECE = 4 << 20;
/** Bytes per read: small enough that the CRC reads what the read just wrote while it is in the CPU cache. */
export const READ_CHUNK = 256 << 10;

export interface SharedQueue {
  ctl: Int32Array;
  /** [pos, len] per range. */
  ranges: Float64Array;
  /** Per range: state and crc (crc as int32 bits). */
  state: Int32Array;
  crcs: Int32Array;
}

export function sharedQueue(capacity: number): SharedQueue {
  return {
    ctl: new Int32Array(new SharedArrayBuffer(CTL_WORDS * 4)),
    ranges: new Float64Array(new SharedArrayBuffer(capacity * 16)),
    state: new Int32Array(new SharedArrayBuffer(capacity * 4)),
    crcs: new Int32Array(new SharedArrayBuffer(capacity * 4)),
  };
}

/** CRC-32C of `len` bytes of `fd` at `pos`, read in cache-sized chunks; -1 when the file is shorter. */
export function crcOfFileRange(fd: number, pos: number, len: number, scratch: Buffer): number {
  let h = 0;
  let done = 0;
  while (done < len) {
    const want = Math.min(scratch.length, len - done);
    let got = 0;
    while (got < want) {
      const n = readSync(fd, scratch, got, want - got, pos + done + got);
      if (n === 0) return -1;
      got += n;
    }
    h = crc32c(scratch.subarray(0, want), h);
    done += want;
  }
  return h;
}

/**
 * Claims and computes queued ranges until none is left to claim. `wait` says whether to block for more
 * ranges while the producer has not finished (the helper thread) or to return (the producer itself).
 */
export function drainQueue(q: SharedQueue, fd: number, scratch: Buffer, wait: boolean): void {
  const { ctl, ranges, state, crcs } = q;
  for (;;) {
    const next = Atomics.load(ctl, CTL.next);
    const published = Atomics.load(ctl, CTL.published);
    if (next < published) {
      if (Atomics.compareExchange(ctl, CTL.next, next, next + 1) !== next) continue;
      if (Atomics.compareExchange(state, next, QUEUED, CLAIMED) !== QUEUED) continue;
      const h = crcOfFileRange(fd, ranges[next * 2]!, ranges[next * 2 + 1]!, scratch);
      if (h < 0) {
        Atomics.store(ctl, CTL.failed, next + 1);
        Atomics.notify(state, next);
        return;
      }
      crcs[next] = h | 0;
      if (wait) Atomics.add(ctl, CTL.helped, 1);
      Atomics.store(state, next, DONE);
      Atomics.notify(state, next);
      continue;
    }
    if (!wait || Atomics.load(ctl, CTL.finished) === 1) return;
    Atomics.wait(ctl, CTL.published, published, 100);
  }
}

type Piece = { crc: number; len: number } | { queued: number; len: number };

export interface RangeCrcOptions {
  /** Use a helper thread (default: when the file is at least `parallelMinBytes`). */
  parallel?: boolean;
  parallelMinBytes?: number;
}

/** Accumulates the pieces in order; `finish()` returns the CRC of their concatenation. */
export class RangeCrc {
  private readonly pieces: Piece[] = [];
  private h = 0;
  private hLen = 0;
  private readonly scratch = Buffer.allocUnsafe(READ_CHUNK);
  private readonly queue: SharedQueue | undefined;
  private readonly capacity: number;
  private worker: Worker | undefined;
  private finished = false;

  private readonly path: string;
  private readonly fd: number;
  private readonly holes: PageHoles | undefined;

  /**
   * Over an open file (a bbolt PagedFile, or any path, descriptor and size). When the file is a sparse copy
   * (`holes`), the pages it lacks count with their recorded CRC instead of being read.
   */
  constructor(
    file: { path: string; fd: number; size: number; holes?: PageHoles | undefined },
    options: RangeCrcOptions = {},
  ) {
    this.path = file.path;
    this.fd = file.fd;
    this.holes = file.holes;
    const fileSize = file.size;
    const path = file.path;
    const parallel = options.parallel ?? fileSize >= (options.parallelMinBytes ?? 64 << 20);
    // Ranges are ≥ QUEUE_MIN bytes and cut into ≤ PIECE pieces: at most two pieces per QUEUE_MIN bytes.
    this.capacity = parallel ? 2 * Math.ceil(fileSize / QUEUE_MIN) + 16 : 0;
    if (parallel) {
      this.queue = sharedQueue(this.capacity);
      try {
        this.worker = new Worker(new URL('./crc-ranges-worker.js', import.meta.url), {
          workerData: { path, queue: this.queue },
        });
        this.worker.unref();
        // A helper that fails to start is not an error: the calling thread computes everything.
        this.worker.on('error', () => undefined);
      } catch {
        this.worker = undefined;
      }
    }
  }

  /** Ranges the helper thread has computed so far (tests: proves the helper runs). */
  get helped(): number {
    return this.queue ? Atomics.load(this.queue.ctl, CTL.helped) : 0;
  }

  /** Bytes in memory, used at once (not kept). */
  bytes(data: Uint8Array): void {
    if (data.length === 0) return;
    this.h = crc32c(data, this.h);
    this.hLen += data.length;
  }

  /** `len` bytes of the file at `pos` (the caller has checked they lie inside the file). */
  fileRange(pos: number, len: number): void {
    if (this.holes) {
      splitByHoles(
        this.holes,
        this.path,
        pos,
        len,
        (p, n) => this.keptRange(p, n),
        (crc, n) => {
          this.flushInline();
          this.pieces.push({ crc, len: n });
        },
      );
      return;
    }
    this.keptRange(pos, len);
  }

  private keptRange(pos: number, len: number): void {
    const q = this.queue;
    if (
      !q ||
      len < QUEUE_MIN ||
      Atomics.load(q.ctl, CTL.published) + Math.ceil(len / PIECE) > this.capacity
    ) {
      for (let off = 0; off < len; off += READ_CHUNK) {
        const n = Math.min(READ_CHUNK, len - off);
        const got = readFully(this.fd, this.scratch, n, pos + off);
        if (got < n) throw this.shortRead(pos + off);
        this.bytes(this.scratch.subarray(0, n));
      }
      return;
    }
    this.flushInline();
    for (let off = 0; off < len; off += PIECE) {
      const n = Math.min(PIECE, len - off);
      const i = Atomics.load(q.ctl, CTL.published);
      q.ranges[i * 2] = pos + off;
      q.ranges[i * 2 + 1] = n;
      this.pieces.push({ queued: i, len: n });
      Atomics.store(q.ctl, CTL.published, i + 1);
      Atomics.notify(q.ctl, CTL.published);
    }
  }

  private flushInline(): void {
    if (this.hLen === 0) return;
    this.pieces.push({ crc: this.h, len: this.hLen });
    this.h = 0;
    this.hLen = 0;
  }

  private shortRead(at: number): CorruptInputError {
    return new CorruptInputError(this.path, `file ends before offset ${at} (file changed while reading?)`);
  }

  /** The CRC of everything added; waits for and finishes queued ranges. Call once. */
  finish(): number {
    this.flushInline();
    const q = this.queue;
    if (q) {
      Atomics.store(q.ctl, CTL.finished, 1);
      Atomics.notify(q.ctl, CTL.published);
      drainQueue(q, this.fd, this.scratch, false);
    }
    try {
      let h = 0;
      for (const p of this.pieces) {
        const c = 'crc' in p ? p.crc : this.queuedCrc(q!, p.queued);
        h = crc32cCombine(h, c, p.len);
      }
      return h;
    } finally {
      this.close();
    }
  }

  /** The CRC of queued range i, waiting for the helper; computed here when the helper stalls or fails. */
  private queuedCrc(q: SharedQueue, i: number): number {
    for (let waited = 0; ; waited++) {
      const s = Atomics.load(q.state, i);
      if (s === DONE) return q.crcs[i]! >>> 0;
      const failed = Atomics.load(q.ctl, CTL.failed);
      if (failed > 0) throw this.shortRead(q.ranges[(failed - 1) * 2]!);
      if ((s === QUEUED && Atomics.compareExchange(q.state, i, QUEUED, CLAIMED) === QUEUED) || waited >= 50) {
        // Not claimed, or the helper has held it for 5 s (stuck or dead): compute it here.
        const h = crcOfFileRange(this.fd, q.ranges[i * 2]!, q.ranges[i * 2 + 1]!, this.scratch);
        if (h < 0) throw this.shortRead(q.ranges[i * 2]!);
        return h >>> 0;
      }
      Atomics.wait(q.state, i, s, 100);
    }
  }

  /** Stops the helper thread (idempotent). */
  close(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.queue) {
      Atomics.store(this.queue.ctl, CTL.finished, 1);
      Atomics.notify(this.queue.ctl, CTL.published);
    }
    if (this.worker) void this.worker.terminate().catch(() => undefined);
  }
}

function readFully(fd: number, into: Buffer, len: number, pos: number): number {
  let got = 0;
  while (got < len) {
    const n = readSync(fd, into, got, len - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}
