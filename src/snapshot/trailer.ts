/**
 * The SHA-256 trailer `etcdctl snapshot save` appends (formats.md §3.1): the file is
 * [bbolt bytes][sha256(bbolt bytes)], recognised by size % 512 == 32.
 */
import type { Hash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export const TRAILER_SIZE = 32;

/**
 * node:crypto is loaded when a trailer is checked, not at start: as an ES import it costs every command
 * ~2 ms, and most never check a trailer.
 */
function sha256(): Hash {
  const { createHash } = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  return createHash('sha256');
}

export function hasChecksumTrailer(size: number): boolean {
  return size % 512 === TRAILER_SIZE;
}

export type TrailerState = 'absent' | 'valid' | 'mismatch';

export interface TrailerCheck {
  state: TrailerState;
  /** The stored digest (hex), when present. */
  stored?: string;
  /** The digest of the data before it (hex), when present. */
  computed?: string;
}

/** Reads the trailer and hashes the bytes before it (sequential reads, 4 MiB at a time). */
export function checkTrailer(path: string, size: number): TrailerCheck {
  if (!hasChecksumTrailer(size)) return { state: 'absent' };
  const fd = openSync(path, 'r');
  try {
    const stored = Buffer.alloc(TRAILER_SIZE);
    readSync(fd, stored, 0, TRAILER_SIZE, size - TRAILER_SIZE);
    const h = sha256();
    const chunk = Buffer.allocUnsafe(4 << 20);
    let pos = 0;
    const end = size - TRAILER_SIZE;
    while (pos < end) {
      const n = readSync(fd, chunk, 0, Math.min(chunk.length, end - pos), pos);
      if (n === 0) break;
      h.update(chunk.subarray(0, n));
      pos += n;
    }
    const computed = h.digest('hex');
    const s = stored.toString('hex');
    return { state: computed === s ? 'valid' : 'mismatch', stored: s, computed };
  } finally {
    closeSync(fd);
  }
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const { path, end } = workerData;
try {
  const fd = fs.openSync(path, 'r');
  const h = createHash('sha256');
  const chunk = Buffer.allocUnsafe(4 << 20);
  let pos = 0;
  while (pos < end) {
    const n = fs.readSync(fd, chunk, 0, Math.min(chunk.length, end - pos), pos);
    if (n === 0) break;
    h.update(chunk.subarray(0, n));
    pos += n;
  }
  fs.closeSync(fd);
  parentPort.postMessage({ digest: h.digest('hex') });
} catch (e) {
  parentPort.postMessage({ error: String(e && e.message || e) });
}
`;

/**
 * The same check in a worker thread, so that hashing a large file overlaps with other work on the main
 * thread (start it, do the work, then await it).
 */
export function checkTrailerInWorker(path: string, size: number): Promise<TrailerCheck> {
  if (!hasChecksumTrailer(size)) return Promise.resolve({ state: 'absent' });
  const fd = openSync(path, 'r');
  const stored = Buffer.alloc(TRAILER_SIZE);
  try {
    readSync(fd, stored, 0, TRAILER_SIZE, size - TRAILER_SIZE);
  } finally {
    closeSync(fd);
  }
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, end: size - TRAILER_SIZE } });
    w.once('message', (m: { digest?: string; error?: string }) => {
      void w.terminate();
      if (m.error !== undefined || !m.digest) {
        reject(new Error(`sha256 of ${path}: ${m.error ?? 'no digest'}`));
        return;
      }
      const s = stored.toString('hex');
      resolve({ state: m.digest === s ? 'valid' : 'mismatch', stored: s, computed: m.digest });
    });
    w.once('error', reject);
  });
}
