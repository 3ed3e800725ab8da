/**
 * Many stored values → their apiserver JSON texts, in input order, on this thread plus helper threads.
 *
 * For bulk output (every object of a snapshot printed as JSON): values are read in batches; a batch is
 * either decoded here as it is read or copied into shared memory for a helper thread
 * (decode-many-worker.ts), whichever has room, so both threads stay busy and neither waits on the other.
 * Results come back in input order. A helper is started only once `helperAfter` objects have been seen
 * (small inputs never pay for its start), and a helper that does not start or stops answering is dropped:
 * its batches are decoded here, so the results are always complete. Everything is synchronous (helpers
 * are waited for with Atomics.wait), like the reader that yields the values.
 *
 * Each text is exactly `stringifyJson(present(decodeObject(value, {key, modRevision}).object, show), indent)`;
 * compact texts of protobuf values are printed by decodeObjectText without building the object
 * (render-text.ts).
 */
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { stringifyJson } from '../util/json.js';
import { decodeObject, decodeObjectText, type ShowOptions } from './decode.js';
import { present } from './present.js';
import type { UnknownField } from './render-proto.js';

export interface StoredObject {
  /** The etcd key (messages, and the object's identity in the results). */
  key: string;
  /** The stored value (decrypted already, if it was encrypted). */
  value: Uint8Array;
  modRevision?: bigint | undefined;
}

export interface DecodedText {
  key: string;
  modRevision: bigint | undefined;
  /** The JSON text, when the value decoded. */
  json: string | undefined;
  /** Why it did not decode (the decoder's one-line message). */
  problem: string | undefined;
  unknownFields: UnknownField[];
}

/** How each object is printed: stringifyJson's indent, and what `present` shows. */
export interface TextOptions {
  indent: number;
  show: ShowOptions;
}

export interface DecodeManyOptions {
  /** stringifyJson's indent (default 0: compact). */
  indent?: number;
  /** What is shown (default: as kubectl shows it, managedFields hidden and Secret values redacted). */
  show?: ShowOptions;
  /** Threads decoding, this one included (default: `defaultThreads()`). */
  threads?: number;
  /**
   * Objects seen before helper threads start (default 2048). 0 starts them before the first object is read,
   * so that they start while the reader prepares (for callers that know the input is large).
   */
  helperAfter?: number;
  /** Filled in when the results are done: the threads used and how many objects helper threads decoded. */
  stats?: { threads: number; helped: number };
}

/**
 * Threads decodeManyJson uses by default: 2 when the machine has 4 or more CPUs and, on average over the last
 * minute, at least 2 of them to spare; else 1. A decode helper costs CPU time of its own (its start, V8
 * compiling the decoder again for its isolate, its heap, handing values and texts over — ≈ 30% more CPU in
 * all, measured on the bench): it pays off only with a CPU free beyond the one the reading thread
 * (live-values.ts) and V8's background compiler and GC threads use. On 2 vCPUs it was slower than one thread.
 */
export function defaultThreads(): number {
  const cpus = availableParallelism();
  if (cpus < 4) return 1;
  return loadavg()[0]! < cpus - 1 ? 2 : 1;
}

/** One value → its JSON text (throws what decodeObject throws). Used by this thread and the helpers. */
export function decodeJsonText(
  value: Uint8Array,
  key: string,
  modRevision: bigint | undefined,
  t: TextOptions,
): { json: string; unknownFields: UnknownField[] } {
  const opts = modRevision === undefined ? { key } : { key, modRevision };
  if (t.indent === 0) {
    const text = decodeObjectText(value, opts, t.show);
    if (text) return text;
  }
  const d = decodeObject(value, opts);
  return { json: stringifyJson(present(d.object, t.show), t.indent), unknownFields: d.unknownFields };
}

function decodeOne(o: StoredObject, t: TextOptions): DecodedText {
  try {
    const r = decodeJsonText(o.value, o.key, o.modRevision, t);
    return {
      key: o.key,
      modRevision: o.modRevision,
      json: r.json,
      problem: undefined,
      unknownFields: r.unknownFields,
    };
  } catch (e) {
    return {
      key: o.key,
      modRevision: o.modRevision,
      json: undefined,
      problem: (e as Error).message,
      unknownFields: [],
    };
  }
}

/** A batch sent to a helper (structured-cloned; `data` is shared, not copied). */
export interface HelperBatch {
  id: number;
  keys: string[];
  revs: (bigint | undefined)[];
  data: SharedArrayBuffer;
  /** End offset in `data` of each value (values are back to back from 0). */
  ends: number[];
  text: TextOptions;
}

/** A helper's answer: the texts back to back and the length of each (-1: none); problems and unknown fields by index. */
export interface HelperResult {
  id: number;
  text: string;
  lens: Int32Array;
  problems: [number, string][];
  unknown: [number, UnknownField[]][];
}

/** Index in the shared signal array of the count of batches helpers completed; helper i sets [1 + i]. */
export const SIGNAL_DONE = 0;

/** Batches for a helper; batches decoded here are smaller, so that a helper with room is seen soon. */
const BATCH_OBJECTS = 256;
const BATCH_BYTES = 1 << 20;
const LOCAL_OBJECTS = 64;
const LOCAL_BYTES = 256 << 10;
/** Batches a helper holds at once (one being decoded, one waiting). */
const HELPER_DEPTH = 2;
/** Objects that may wait behind an unfinished helper batch before this thread waits for it. */
const MAX_QUEUED_OBJECTS = 8192;
const START_TIMEOUT_MS = 5000;
const STALL_TIMEOUT_MS = 60000;

const WORKER_URL = new URL('./decode-many-worker.js', import.meta.url);

/** A run of consecutive objects, decoded here (`results` filled as read) or by a helper. */
interface Batch {
  id: number;
  keys: string[];
  revs: (bigint | undefined)[];
  /** Helper batches: the helper, the shared copy of the values and their end offsets. */
  helper: Helper | undefined;
  data: SharedArrayBuffer | undefined;
  ends: number[];
  /** Bytes of the values read into the batch. */
  bytes: number;
  sentAt: number;
  results: DecodedText[] | undefined;
}

interface Helper {
  index: number;
  worker: Worker;
  port: MessagePort;
  inFlight: number;
  alive: boolean;
  startedAt: number;
}

class Helpers {
  readonly list: Helper[] = [];
  /** [SIGNAL_DONE] batches completed by all helpers; [1 + i] helper i started. */
  private readonly signal = new Int32Array(new SharedArrayBuffer(4 * 16));
  private readonly waiting = new Map<number, Batch>();
  private started = false;
  /** Objects helpers decoded. */
  helped = 0;

  constructor(
    private readonly count: number,
    private readonly text: TextOptions,
  ) {}

  start(): void {
    if (this.started) return;
    this.started = true;
    // A bundled build without the worker file decodes everything here.
    if (!existsSync(fileURLToPath(WORKER_URL))) return;
    for (let i = 0; i < Math.min(this.count, 15); i++) {
      try {
        const { port1, port2 } = new MessageChannel();
        const worker = new Worker(WORKER_URL, {
          workerData: { port: port2, signal: this.signal, index: i },
          transferList: [port2],
        });
        worker.unref();
        // A helper that fails is not an error: its batches are decoded on this thread.
        worker.on('error', () => undefined);
        this.list.push({ index: i, worker, port: port1, inFlight: 0, alive: true, startedAt: Date.now() });
      } catch {
        break;
      }
    }
  }

  /** The helper with room for another batch, if any. */
  free(): Helper | undefined {
    let best: Helper | undefined;
    for (const h of this.list)
      if (h.alive && h.inFlight < HELPER_DEPTH && (!best || h.inFlight < best.inFlight)) best = h;
    return best;
  }

  send(b: Batch): void {
    const h = b.helper!;
    const msg: HelperBatch = {
      id: b.id,
      keys: b.keys,
      revs: b.revs,
      data: b.data!,
      ends: b.ends,
      text: this.text,
    };
    h.inFlight++;
    b.sentAt = Date.now();
    this.waiting.set(b.id, b);
    h.worker.postMessage(msg);
  }

  /** Takes every answer that has arrived. */
  poll(): void {
    for (const h of this.list) {
      if (!h.alive) continue;
      for (let m = receiveMessageOnPort(h.port); m; m = receiveMessageOnPort(h.port)) {
        const r = m.message as HelperResult;
        const b = this.waiting.get(r.id);
        if (!b) continue;
        this.waiting.delete(r.id);
        h.inFlight--;
        b.results = fromHelper(b, r);
        this.helped += b.results.length;
      }
    }
  }

  /** Waits for a helper batch; decodes it here when its helper did not start or stopped answering. */
  wait(b: Batch): void {
    for (;;) {
      const seen = Atomics.load(this.signal, SIGNAL_DONE);
      this.poll();
      if (b.results) return;
      const h = b.helper!;
      const now = Date.now();
      const started = Atomics.load(this.signal, 1 + h.index) === 1;
      if (
        !h.alive ||
        (!started && now - h.startedAt > START_TIMEOUT_MS) ||
        now - b.sentAt > STALL_TIMEOUT_MS
      ) {
        this.drop(h);
        return;
      }
      Atomics.wait(this.signal, SIGNAL_DONE, seen, 100);
    }
  }

  /** Stops using a helper: its outstanding batches are decoded here. */
  private drop(h: Helper): void {
    h.alive = false;
    h.inFlight = 0;
    h.port.close();
    void h.worker.terminate().catch(() => undefined);
    for (const [id, b] of this.waiting) {
      if (b.helper !== h) continue;
      this.waiting.delete(id);
      b.results = decodeShared(b, this.text);
    }
  }

  close(): void {
    for (const h of this.list) {
      if (!h.alive) continue;
      h.alive = false;
      h.port.close();
      void h.worker.terminate().catch(() => undefined);
    }
  }
}

function fromHelper(b: Batch, r: HelperResult): DecodedText[] {
  const n = r.lens.length;
  const out = new Array<DecodedText>(n);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const len = r.lens[i]!;
    out[i] = {
      key: b.keys[i]!,
      modRevision: b.revs[i],
      json: len < 0 ? undefined : r.text.slice(at, at + len),
      problem: undefined,
      unknownFields: [],
    };
    if (len > 0) at += len;
  }
  for (const [i, p] of r.problems) out[i]!.problem = p;
  for (const [i, u] of r.unknown) out[i]!.unknownFields = u;
  return out;
}

/** Decodes a helper batch's shared copy on this thread. */
function decodeShared(b: Batch, t: TextOptions): DecodedText[] {
  const data = Buffer.from(b.data!);
  const out: DecodedText[] = [];
  let start = 0;
  for (let i = 0; i < b.ends.length; i++) {
    const end = b.ends[i]!;
    out.push(decodeOne({ key: b.keys[i]!, value: data.subarray(start, end), modRevision: b.revs[i] }, t));
    start = end;
  }
  return out;
}

/**
 * Decodes every stored value to its JSON text, yielding the results in input order. Each value is used
 * before the next one is read, so it need stay valid only until then.
 */
export function* decodeManyJson(
  objects: Iterable<StoredObject>,
  opts: DecodeManyOptions = {},
): IterableIterator<DecodedText> {
  const text: TextOptions = { indent: opts.indent ?? 0, show: opts.show ?? {} };
  const threads = Math.max(1, Math.floor(opts.threads ?? defaultThreads()));
  if (opts.stats) opts.stats.threads = threads;
  if (threads === 1) {
    for (const o of objects) yield decodeOne(o, text);
    return;
  }
  const helperAfter = opts.helperAfter ?? 2048;
  const helpers = new Helpers(threads - 1, text);
  const queue: Batch[] = [];
  let seen = 0;
  let nextId = 0;
  let cur: Batch | undefined;
  const open = (minBytes: number): Batch => {
    const h = helpers.free();
    const b: Batch = {
      id: nextId++,
      keys: [],
      revs: [],
      helper: h,
      data: h ? new SharedArrayBuffer(Math.max(BATCH_BYTES, minBytes)) : undefined,
      ends: [],
      bytes: 0,
      sentAt: 0,
      results: h ? undefined : [],
    };
    queue.push(b);
    return b;
  };
  try {
    if (helperAfter <= 0) helpers.start();
    for (const o of objects) {
      if (seen++ === helperAfter) helpers.start();
      const len = o.value.length;
      if (cur?.helper && cur.bytes > 0 && cur.bytes + len > cur.data!.byteLength) {
        // The value does not fit: send what the batch holds and start another.
        helpers.send(cur);
        cur = undefined;
        yield* drain(queue, helpers, false);
      }
      const b = (cur ??= open(len));
      b.keys.push(o.key);
      b.revs.push(o.modRevision);
      if (b.helper) {
        new Uint8Array(b.data!, b.bytes, len).set(o.value);
        b.ends.push(b.bytes + len);
      } else {
        b.results!.push(decodeOne(o, text));
      }
      b.bytes += len;
      if (
        b.helper
          ? b.keys.length >= BATCH_OBJECTS || b.bytes >= BATCH_BYTES
          : b.keys.length >= LOCAL_OBJECTS || b.bytes >= LOCAL_BYTES
      ) {
        if (b.helper) helpers.send(b);
        cur = undefined;
        yield* drain(queue, helpers, false);
      }
    }
    if (cur?.helper) helpers.send(cur);
    yield* drain(queue, helpers, true);
  } finally {
    helpers.close();
    if (opts.stats) opts.stats.helped = helpers.helped;
  }
}

/** Yields the finished batches at the head of the queue; waits for the head when `all` or too many wait. */
function* drain(queue: Batch[], helpers: Helpers, all: boolean): Generator<DecodedText> {
  helpers.poll();
  while (queue.length > 0) {
    const head = queue[0]!;
    if (!head.results) {
      if (!all) {
        let queued = 0;
        for (let i = 1; i < queue.length && queued <= MAX_QUEUED_OBJECTS; i++)
          queued += queue[i]!.keys.length;
        if (queued <= MAX_QUEUED_OBJECTS) return;
      }
      helpers.wait(head);
    }
    queue.shift();
    yield* head.results!;
  }
}
