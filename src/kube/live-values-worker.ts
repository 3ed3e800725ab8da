/**
 * The helper thread of liveValues (live-values.ts): opens the same database file, says it is ready, then reads
 * the entries at the locators it is given and posts them in batches of shared memory, staying at most
 * MAX_AHEAD batches ahead of the reading thread.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { EtcdDb } from '../etcd/index.js';
import {
  BATCH_BYTES,
  BATCH_OBJECTS,
  MAX_AHEAD,
  SIG_POSTED,
  SIG_READY,
  SIG_USED,
  type ReaderMessage,
  type ReadOrder,
  type ValueBatch,
} from './live-values.js';

const { path, port, signal } = workerData as { path: string; port: MessagePort; signal: Int32Array };

function post(m: ReaderMessage): void {
  port.postMessage(m);
  Atomics.add(signal, SIG_POSTED, 1);
  Atomics.notify(signal, SIG_POSTED);
}

let db: EtcdDb | undefined;
try {
  // Entries are read once, in file order: a small page cache does (the default one is sized for random access).
  db = EtcdDb.open(path, { cacheBytes: 16 << 20 });
  Atomics.store(signal, SIG_READY, 1);
} catch (e) {
  post({ failed: (e as Error).message });
}

parentPort!.once('message', (order: ReadOrder) => {
  try {
    let b: ValueBatch | undefined;
    let used = 0;
    let posted = 0;
    const send = (): void => {
      if (!b) return;
      // Waits while the reading thread is MAX_AHEAD batches behind (it sets SIG_USED high when it stops).
      for (
        let u = Atomics.load(signal, SIG_USED);
        posted - u >= MAX_AHEAD;
        u = Atomics.load(signal, SIG_USED)
      )
        Atomics.wait(signal, SIG_USED, u, 1000);
      post({ batch: b });
      posted++;
      b = undefined;
    };
    // Batch n fills pool[n % pool.length]: when it starts, the reading thread is done with batch
    // n - MAX_AHEAD (send waits until fewer than MAX_AHEAD are unread), so the memory is free again. Reused
    // memory is cheaper than fresh (no page faults); a value larger than a batch gets memory of its own.
    const pool: SharedArrayBuffer[] = [];
    for (const kv of db!.mvcc.atLocators(order.locators, order.from)) {
      const v = kv.value!;
      if (b && used + v.length > b.data.byteLength) send();
      if (!b) {
        const slot = posted % (MAX_AHEAD + 1);
        let data: SharedArrayBuffer;
        if (v.length > BATCH_BYTES) data = new SharedArrayBuffer(v.length);
        else data = pool[slot] ??= new SharedArrayBuffer(BATCH_BYTES);
        b = { keys: [], revs: [], data, ends: [] };
        used = 0;
      }
      new Uint8Array(b.data, used, v.length).set(v);
      used += v.length;
      b.keys.push(kv.key.toString('utf8'));
      b.revs.push(kv.modRevision);
      b.ends.push(used);
      if (b.keys.length >= BATCH_OBJECTS || used >= BATCH_BYTES) send();
    }
    send();
    post({ done: true });
  } catch (e) {
    post({ failed: (e as Error).message });
  } finally {
    db?.close();
    port.close();
  }
});
