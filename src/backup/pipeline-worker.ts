/**
 * Runs the stages of pipeline.ts on a worker thread. The main thread receives the member's gRPC stream
 * (TLS, HTTP/2, protobuf: about as much CPU as the rest put together) and hands 1 MiB batches over by
 * transferring their memory; the worker checks, spools, compresses, encrypts and hashes them and hands
 * the stored bytes back the same way, to the repository upload on the main thread. Both directions are
 * credit-based: at most IN_FLIGHT batches wait on either side, so a slow repository slows the member's
 * stream instead of filling memory.
 *
 * Memory is recycled both ways: the worker hands each batch's memory back with its credit once no stage
 * needs it (takeBuffer() reuses it for a later batch), and the repository hands each stored buffer back
 * once written (PutOptions.release → recycle()), which the worker fills again. Fresh 1 MiB buffers cost
 * page faults and garbage collections on both threads — about as much CPU as a stage.
 */
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { tuneBackupHeaps } from './thread-heap.js';
import { Readable } from 'node:stream';
import { LifeboatError, UsageError, VerificationError } from '../util/errors.js';
import { Stages, type PipelineConfig, type PlainDone, type StoredDone, type StoredSink } from './pipeline.js';

/** Batches (either way) that may be queued before the sender waits. */
const IN_FLIGHT = 4;
/**
 * Size of the buffers the stored bytes are packed into, so of the repository's writes. Not 1 MiB: on ext4
 * (Linux 6.x, measured on the bench VM) writes of exactly 1 MiB at 1 MiB-aligned offsets cost ~5× the
 * kernel CPU of writes 64 KiB shorter (2 s instead of 0.35 s per GiB), apparently for the page cache's large
 * folios; a write shorter than 1 MiB never covers an aligned MiB.
 */
const OUT_BYTES = (1 << 20) - (64 << 10);

type ToWorker =
  | { t: 'init'; cfg: PipelineConfig }
  /** `recycle`: written stored buffers, for the worker to fill again. */
  | { t: 'data'; buf: ArrayBuffer; len: number; recycle: ArrayBuffer[] }
  | { t: 'end' }
  | { t: 'out-ack'; recycle: ArrayBuffer[] };

type FromWorker =
  /** `free`: the memory of batches no stage needs any more. */
  | { t: 'ack'; free: ArrayBuffer[] }
  | { t: 'plain'; done: PlainDone }
  | { t: 'out'; buf: ArrayBuffer; len: number }
  | { t: 'stored'; done: StoredDone }
  | { t: 'error'; name: string; message: string };

/** The memory behind a buffer, transferable: the buffer's own when it spans it exactly, else a copy. */
function ownMemory(b: Uint8Array): ArrayBuffer {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer) {
    return b.buffer;
  }
  return new Uint8Array(b).buffer;
}

/** The errors the stages raise, rebuilt on this side of the thread boundary. */
function rebuild(name: string, message: string): Error {
  const known: Record<string, new (message: string) => Error> = {
    VerificationError,
    UsageError,
    LifeboatError,
  };
  const Known = known[name];
  return Known ? new Known(message) : new Error(message);
}

/** One deferred promise at a time, for the credit waits. */
class Gate {
  private open: (() => void) | undefined;
  private reject: ((e: Error) => void) | undefined;
  wait(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.open = resolve;
      this.reject = reject;
    });
  }
  release(): void {
    const o = this.open;
    this.open = this.reject = undefined;
    o?.();
  }
  fail(err: Error): void {
    const r = this.reject;
    this.open = this.reject = undefined;
    r?.(err);
  }
}

export class PipelineThread {
  private readonly worker: Worker;
  private inFlight = 0;
  private readonly credit = new Gate();
  private pendingOutAcks = 0;
  private failed: Error | undefined;
  /** Batch memory the worker gave back, for takeBuffer(). */
  private readonly pool: ArrayBuffer[] = [];
  /** The memory behind takeBuffer()'s buffers: moved to the worker even when a batch uses only its start. */
  private readonly ours = new WeakSet<ArrayBuffer>();
  /** Stored buffers from the worker not yet given back, and those written, to go back with the next post. */
  private readonly lent = new WeakSet<ArrayBuffer>();
  private returned: ArrayBuffer[] = [];
  /** How often memory was reused: batches from the pool, stored buffers given back to the worker. */
  readonly recycled = { batches: 0, stored: 0 };
  private plainResolve!: (d: PlainDone) => void;
  private plainReject!: (e: Error) => void;
  private storedResolve!: (d: StoredDone) => void;
  private storedReject!: (e: Error) => void;
  /** The plain-side facts, once end() was called and the last batch is checked and spooled. */
  readonly plain: Promise<PlainDone>;
  /** The stored bytes' digest and size, once `output` has ended. */
  readonly stored: Promise<StoredDone>;
  /** The bytes to store. */
  readonly output: Readable;

  constructor(cfg: PipelineConfig) {
    this.plain = new Promise((resolve, reject) => {
      this.plainResolve = resolve;
      this.plainReject = reject;
    });
    this.stored = new Promise((resolve, reject) => {
      this.storedResolve = resolve;
      this.storedReject = reject;
    });
    this.plain.catch(() => undefined);
    this.stored.catch(() => undefined);
    // Object mode: a reader gets the chunks as they came, not one concatenated copy of all queued.
    this.output = new Readable({
      objectMode: true,
      highWaterMark: IN_FLIGHT,
      read: () => {
        // The consumer wants more: return the credits held back while it was full.
        for (; this.pendingOutAcks > 0; this.pendingOutAcks--) this.postOutAck();
      },
    });
    // A failure may come before anyone reads the output (the upload failed to start): no unhandled error.
    this.output.on('error', () => undefined);
    tuneBackupHeaps();
    this.worker = new Worker(new URL(import.meta.url));
    this.worker.unref();
    this.worker.on('message', (m: FromWorker) => this.onMessage(m));
    this.worker.once('error', (err) => this.fail(err));
    this.worker.once('exit', (code) => {
      if (!this.failed) this.fail(new Error(`backup pipeline thread exited early (code ${code})`));
    });
    this.post({ t: 'init', cfg });
  }

  private post(m: ToWorker, transfer?: ArrayBuffer[]): void {
    if (!this.failed) this.worker.postMessage(m, transfer);
  }

  private postOutAck(): void {
    const recycle = this.takeReturned();
    this.post({ t: 'out-ack', recycle }, recycle);
  }

  private takeReturned(): ArrayBuffer[] {
    const r = this.returned;
    if (r.length) this.returned = [];
    return r;
  }

  /** A buffer of `size` bytes for a batch: memory the worker gave back when there is, else new. */
  takeBuffer(size: number): Buffer {
    const i = this.pool.findIndex((ab) => ab.byteLength === size);
    if (i >= 0) this.recycled.batches++;
    const ab = i >= 0 ? this.pool.splice(i, 1)[0]! : new ArrayBuffer(size);
    this.ours.add(ab);
    return Buffer.from(ab);
  }

  /** A chunk of `output` the consumer has written: its memory goes back to the worker to be filled again. */
  recycle(chunk: Uint8Array): void {
    const ab = chunk.buffer;
    if (ab instanceof ArrayBuffer && this.lent.has(ab)) {
      this.lent.delete(ab);
      if (this.failed) return;
      this.returned.push(ab);
      this.recycled.stored++;
    }
  }

  private onMessage(m: FromWorker): void {
    switch (m.t) {
      case 'ack':
        // Kept up to what can be in flight (batches handed over as copies come back too, never reused).
        for (const ab of m.free) if (this.pool.length < 2 * IN_FLIGHT) this.pool.push(ab);
        this.inFlight--;
        this.credit.release();
        return;
      case 'plain':
        this.plainResolve(m.done);
        return;
      case 'out':
        this.lent.add(m.buf);
        if (this.output.push(Buffer.from(m.buf, 0, m.len))) this.postOutAck();
        else this.pendingOutAcks++;
        return;
      case 'stored':
        this.storedResolve(m.done);
        this.output.push(null);
        return;
      case 'error':
        this.fail(rebuild(m.name, m.message));
        return;
    }
  }

  /** Hands a batch over (its memory moves to the worker when it owns it); waits while IN_FLIGHT wait. */
  async write(batch: Buffer): Promise<void> {
    if (this.failed) throw this.failed;
    const mine = batch.byteOffset === 0 && batch.buffer instanceof ArrayBuffer && this.ours.has(batch.buffer);
    const buf = mine ? (batch.buffer as ArrayBuffer) : ownMemory(batch);
    this.ours.delete(buf);
    this.inFlight++;
    const recycle = this.takeReturned();
    this.worker.postMessage({ t: 'data', buf, len: batch.length, recycle } satisfies ToWorker, [
      buf,
      ...recycle,
    ]);
    while (this.inFlight >= IN_FLIGHT) await this.credit.wait();
  }

  /** No more input: resolves with the plain-side facts (rejects with the trailer or meta-page problem). */
  end(): Promise<PlainDone> {
    this.post({ t: 'end' });
    return this.plain;
  }

  /** Stops everything with the error: pending calls reject, the output fails, the thread ends. */
  fail(err: Error): void {
    if (this.failed) return;
    this.failed = err;
    this.credit.fail(err);
    this.plainReject(err);
    this.storedReject(err);
    this.output.destroy(err);
    void this.worker.terminate();
  }

  async close(): Promise<void> {
    if (!this.failed) this.failed = new Error('backup pipeline closed');
    await this.worker.terminate();
  }
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  let stages: Stages | undefined;
  let outCredit = IN_FLIGHT;
  const outGate = new Gate();
  /** Stored buffers the main thread gave back, to be filled again. */
  const outPool: ArrayBuffer[] = [];
  /** Batch memory no stage needs any more, to go back with the next credit. */
  let freed: ArrayBuffer[] = [];
  const recycle = (bufs: ArrayBuffer[]) => {
    for (const ab of bufs) if (ab.byteLength === OUT_BYTES) outPool.push(ab);
  };
  const sink: StoredSink = {
    take: () => {
      const ab = outPool.pop();
      return ab ? Buffer.from(ab) : Buffer.allocUnsafeSlow(OUT_BYTES);
    },
    put: (bytes) => {
      outCredit--;
      // `bytes` is the start of a buffer from take(): its whole memory moves.
      const buf = bytes.buffer as ArrayBuffer;
      port.postMessage({ t: 'out', buf, len: bytes.length } satisfies FromWorker, [buf]);
    },
    ready: async () => {
      while (outCredit <= 0) await outGate.wait();
    },
  };
  // Input batches are processed one at a time, in order.
  let queue: Promise<void> = Promise.resolve();
  let reported = false;
  const report = (err: unknown) => {
    if (reported) return;
    reported = true;
    const e = err instanceof Error ? err : new Error(String(err));
    port.postMessage({ t: 'error', name: e.name, message: e.message } satisfies FromWorker);
  };
  port.on('message', (m: ToWorker) => {
    switch (m.t) {
      case 'init':
        stages = new Stages(m.cfg, sink);
        return;
      case 'data': {
        recycle(m.recycle);
        const batch = Buffer.from(m.buf, 0, m.len);
        const release = () => freed.push(m.buf);
        queue = queue
          .then(() => stages!.write(batch, release))
          .then(() => {
            const free = freed;
            freed = [];
            port.postMessage({ t: 'ack', free } satisfies FromWorker, free);
          });
        queue.catch(report);
        return;
      }
      case 'end':
        queue = queue.then(async () => {
          port.postMessage({ t: 'plain', done: stages!.end() } satisfies FromWorker);
          const done = await stages!.finish();
          port.postMessage({ t: 'stored', done } satisfies FromWorker);
        });
        queue.catch((err: unknown) => {
          stages?.fail(err as Error);
          report(err);
        });
        return;
      case 'out-ack':
        recycle(m.recycle);
        outCredit++;
        outGate.release();
        return;
    }
  });
}
