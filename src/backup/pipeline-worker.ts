/**
 * Runs the stages of pipeline.ts on a worker thread. The main thread receives the member's gRPC stream
 * (TLS, HTTP/2, protobuf: about as much CPU as the rest put together) and hands 1 MiB batches over by
 * transferring their memory; the worker checks, spools, compresses, encrypts and hashes them and hands
 * the stored bytes back the same way, to the repository upload on the main thread. Both directions are
 * credit-based: at most IN_FLIGHT batches wait on either side, so a slow repository slows the member's
 * stream instead of filling memory.
 */
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { Readable } from 'node:stream';
import { LifeboatError, UsageError, VerificationError } from '../util/errors.js';
import { Stages, type PipelineConfig, type PlainDone, type StoredDone } from './pipeline.js';

/** Batches (either way) that may be queued before the sender waits. */
const IN_FLIGHT = 4;

type ToWorker =
  | { t: 'init'; cfg: PipelineConfig }
  | { t: 'data'; buf: ArrayBuffer; len: number }
  | { t: 'end' }
  | { t: 'out-ack' };

type FromWorker =
  | { t: 'ack' }
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
        for (; this.pendingOutAcks > 0; this.pendingOutAcks--) this.post({ t: 'out-ack' });
      },
    });
    // A failure may come before anyone reads the output (the upload failed to start): no unhandled error.
    this.output.on('error', () => undefined);
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

  private onMessage(m: FromWorker): void {
    switch (m.t) {
      case 'ack':
        this.inFlight--;
        this.credit.release();
        return;
      case 'plain':
        this.plainResolve(m.done);
        return;
      case 'out':
        if (this.output.push(Buffer.from(m.buf, 0, m.len))) this.post({ t: 'out-ack' });
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
    const buf = ownMemory(batch);
    this.inFlight++;
    this.worker.postMessage({ t: 'data', buf, len: batch.length } satisfies ToWorker, [buf]);
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
  // Input batches are processed one at a time, in order.
  let queue: Promise<void> = Promise.resolve();
  let reported = false;
  const report = (err: unknown) => {
    if (reported) return;
    reported = true;
    const e = err instanceof Error ? err : new Error(String(err));
    port.postMessage({ t: 'error', name: e.name, message: e.message } satisfies FromWorker);
  };
  const drainOutput = async (s: Stages) => {
    for await (const chunk of s.output as AsyncIterable<Buffer>) {
      while (outCredit === 0) await outGate.wait();
      outCredit--;
      const buf = ownMemory(chunk);
      port.postMessage({ t: 'out', buf, len: chunk.length } satisfies FromWorker, [buf]);
    }
    port.postMessage({ t: 'stored', done: s.stored() } satisfies FromWorker);
  };
  port.on('message', (m: ToWorker) => {
    switch (m.t) {
      case 'init':
        stages = new Stages(m.cfg);
        drainOutput(stages).catch(report);
        return;
      case 'data': {
        const batch = Buffer.from(m.buf, 0, m.len);
        queue = queue
          .then(() => stages!.write(batch))
          .then(() => port.postMessage({ t: 'ack' } satisfies FromWorker));
        queue.catch(report);
        return;
      }
      case 'end':
        queue = queue.then(() => {
          port.postMessage({ t: 'plain', done: stages!.end() } satisfies FromWorker);
        });
        queue.catch((err: unknown) => {
          stages?.fail(err as Error);
          report(err);
        });
        return;
      case 'out-ack':
        outCredit++;
        outGate.release();
        return;
    }
  });
}
