/**
 * The helper thread of `RangeCrc` (crc-ranges.ts): computes queued file ranges until the producer says it
 * has finished and nothing is left to claim.
 */
import { closeSync, openSync } from 'node:fs';
import { workerData } from 'node:worker_threads';
import { drainQueue, READ_CHUNK, type SharedQueue } from './crc-ranges.js';

const { path, queue } = workerData as { path: string; queue: SharedQueue };
const fd = openSync(path, 'r');
try {
  drainQueue(queue, fd, Buffer.allocUnsafe(READ_CHUNK), true);
} finally {
  closeSync(fd);
}
