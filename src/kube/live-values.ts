/**
 * The live values under a prefix at a revision, for the bulk path (decode-many.ts decodes them): this thread
 * collects the live entries' positions in the file (MvccView.liveLocators) and reads values itself while a
 * helper thread (live-values-worker.ts) starts; the helper then reads the rest and hands them over in batches
 * of shared memory, so that this thread spends its time decoding. Same objects, same order (file order,
 * liveAt's `order: 'revision'`) as `db.mvcc.liveAt` on this thread, which is what it falls back to when no
 * helper starts, when the helper stops answering, or when the helper meets an error (then this thread reads
 * on from where the helper was and meets the error itself, with its usual type and message).
 */
import { existsSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { prefixRangeEnd, type EtcdDb, type KeyValue } from '../etcd/index.js';
import type { StoredObject } from './decode-many.js';

/** A batch from the helper: values back to back in `data`, each ending at `ends[i]`. */
export interface ValueBatch {
  keys: string[];
  revs: bigint[];
  data: SharedArrayBuffer;
  ends: number[];
}

/** To the helper: the locators (shared) and the first one it reads. */
export interface ReadOrder {
  locators: Float64Array;
  from: number;
}

/** The helper's messages: batches in order, then `done`, or `failed` (this thread reads on). */
export type ReaderMessage = { batch: ValueBatch } | { done: true } | { failed: string };

/** Indexes in the shared signal array: batches posted by the helper, batches used here, helper ready. */
export const SIG_POSTED = 0;
export const SIG_USED = 1;
export const SIG_READY = 2;
/** Batches the helper may be ahead of this thread (memory bound: ≈ BATCH_BYTES each). */
export const MAX_AHEAD = 8;
export const BATCH_OBJECTS = 512;
export const BATCH_BYTES = 1 << 20;

const WORKER_URL = new URL('./live-values-worker.js', import.meta.url);
const STALL_TIMEOUT_MS = 60000;

export interface LiveValuesOptions {
  /**
   * Read on a helper thread: true always (when one starts), false never; default: `readerHelperByDefault()`,
   * and then only when other processes leave a CPU free while the entries are collected.
   */
  helper?: boolean;
  /** Read here while the helper starts, then hand over (default true; false waits for the helper). */
  readWhileStarting?: boolean;
  /**
   * Filled in as values are read: how many came from the helper thread, and (once the live keys are known,
   * before the first value) how many values there are.
   */
  stats?: { helped: number; total?: number };
}

/**
 * Whether liveValues starts a helper thread by default: when the machine has 4 or more CPUs and, on average
 * over the last minute, at least 2 of them free. It then hands the reading over only if, while this thread
 * collected the entries' positions, other processes left a CPU free (`othersBusy`). The helper takes the
 * reading off the decoding thread (≈ 0.3 s of its ≈ 2.5 s CPU on the bench file) but costs ≈ 0.5 s of CPU
 * itself (its start, V8 compiling the reader again, copying the values): on the 2 shared vCPUs it was measured
 * on (2026-11-22, bench/kube-decode.ts, also with the other CPU idle) it was slower than one thread, so it is
 * not used there unless asked for.
 */
export function readerHelperByDefault(): boolean {
  const n = availableParallelism();
  return n >= 4 && loadavg()[0]! < n - 1;
}

interface CpuSample {
  busyMs: number;
  ownUs: NodeJS.CpuUsage;
  at: number;
}

function cpuSample(): CpuSample {
  let busyMs = 0;
  for (const c of cpus()) busyMs += c.times.user + c.times.nice + c.times.sys + c.times.irq;
  return { busyMs, ownUs: process.cpuUsage(), at: performance.now() };
}

/** CPUs other processes kept busy since `s` (all CPUs' busy time less this process's), in CPUs. */
export function othersBusy(s: CpuSample): number {
  const now = cpuSample();
  const own = process.cpuUsage(s.ownUs);
  const ms = now.at - s.at;
  if (ms <= 0) return 0;
  return (now.busyMs - s.busyMs - (own.user + own.system) / 1000) / ms;
}

/** Other processes' use of the CPUs below which the helper takes over (2-CPU machines: one CPU ≥ 60% free). */
const OTHERS_BUSY_MAX = 0.4;

function stored(kv: KeyValue): StoredObject {
  return { key: kv.key.toString('utf8'), value: kv.value!, modRevision: kv.modRevision };
}

/**
 * Every live key under `prefix` at `revision` (0 = current) with its value, in file order. Each value is a
 * view valid until the next one is read.
 */
export function* liveValues(
  db: EtcdDb,
  revision: bigint,
  prefix: Buffer,
  opts: LiveValuesOptions = {},
): IterableIterator<StoredObject> {
  const rev = db.mvcc.resolveRevision(revision);
  const range = { key: prefix, rangeEnd: prefixRangeEnd(prefix) };
  const helper = opts.helper ?? readerHelperByDefault();
  if (!helper || !existsSync(fileURLToPath(WORKER_URL)) || !existsSync(db.path)) {
    const locators = db.mvcc.liveLocators(rev, range);
    if (opts.stats) opts.stats.total = locators.length;
    for (const kv of db.mvcc.atLocators(locators)) yield stored(kv);
    return;
  }
  const signal = new Int32Array(new SharedArrayBuffer(4 * 4));
  let worker: Worker | undefined;
  let port: MessagePort | undefined;
  try {
    const ch = new MessageChannel();
    port = ch.port1;
    worker = new Worker(WORKER_URL, {
      workerData: { path: db.path, port: ch.port2, signal },
      transferList: [ch.port2],
    });
    worker.unref();
    worker.on('error', () => undefined);
  } catch {
    worker = undefined;
  }
  // The helper starts while this thread collects the locators and reads the first values.
  const sample = cpuSample();
  const found = db.mvcc.liveLocators(rev, range);
  // By default the helper takes over only if the CPUs were not busy with other work meanwhile.
  if (worker && opts.helper === undefined && othersBusy(sample) > OTHERS_BUSY_MAX) {
    void worker.terminate().catch(() => undefined);
    worker = undefined;
  }
  const locators = new Float64Array(new SharedArrayBuffer(found.length * 8));
  locators.set(found);
  if (opts.stats) opts.stats.total = locators.length;
  let next = 0;
  try {
    if (worker && opts.readWhileStarting === false) {
      const since = Date.now();
      while (
        Atomics.load(signal, SIG_READY) !== 1 &&
        Atomics.load(signal, SIG_POSTED) === 0 &&
        Date.now() - since < 5000
      )
        Atomics.wait(signal, SIG_POSTED, 0, 20);
    }
    for (const kv of db.mvcc.atLocators(locators)) {
      if (
        worker &&
        (opts.readWhileStarting === false || (next & 31) === 0) &&
        Atomics.load(signal, SIG_READY) === 1
      )
        break;
      yield stored(kv);
      next++;
    }
    if (!worker || next >= locators.length) return;
    const order: ReadOrder = { locators, from: next };
    worker.postMessage(order);
    let waitingSince = Date.now();
    let stop = false;
    while (!stop) {
      const seen = Atomics.load(signal, SIG_POSTED);
      const m = receiveMessageOnPort(port!);
      if (!m) {
        if (Date.now() - waitingSince > STALL_TIMEOUT_MS) break;
        Atomics.wait(signal, SIG_POSTED, seen, 100);
        continue;
      }
      const msg = m.message as ReaderMessage;
      if ('done' in msg) return;
      if ('failed' in msg) break;
      const b = msg.batch;
      const data = Buffer.from(b.data);
      let start = 0;
      for (let i = 0; i < b.ends.length; i++) {
        const end = b.ends[i]!;
        yield { key: b.keys[i]!, value: data.subarray(start, end), modRevision: b.revs[i]! };
        next++;
        if (opts.stats) opts.stats.helped++;
        start = end;
      }
      Atomics.add(signal, SIG_USED, 1);
      Atomics.notify(signal, SIG_USED);
      waitingSince = Date.now();
      stop = next >= locators.length;
    }
    // The helper failed or stopped answering: this thread reads on from where it was.
    for (const kv of db.mvcc.atLocators(locators, next)) yield stored(kv);
  } finally {
    // Tells a helper waiting for room that it may stop, then stops it.
    Atomics.store(signal, SIG_USED, 1 << 30);
    Atomics.notify(signal, SIG_USED);
    port?.close();
    if (worker) void worker.terminate().catch(() => undefined);
  }
}
