/**
 * Runs the inspection of a spooled snapshot (inspect.ts) on worker threads: two, one per part (structure
 * check + content summary, HashKV), when parallelInspection says so, so the two parts take one part's
 * time; else one running both. Either way the main thread goes on finishing the upload and asking the
 * member for its HashKV meanwhile. The workers are started before the
 * stream (their start-up overlaps the transfer) and inspect exactly one file.
 */
import { availableParallelism } from 'node:os';
import type { PageHoles } from '../bbolt/sparse.js';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { tuneBackupHeaps } from './thread-heap.js';
import {
  combineInspection,
  inspectPart,
  type HashPart,
  type InspectionPart,
  type SnapshotInspection,
  type StructurePart,
} from './inspect.js';

type Request = { path: string; part: InspectionPart; holes?: PageHoles };
type Reply =
  | { kind: 'revision'; revision: bigint }
  | { kind: 'done'; result: StructurePart | HashPart | SnapshotInspection }
  | { kind: 'failed'; name: string; message: string };

/** An inspection that failed on the worker, with the name of the error it threw there. */
export class InspectionFailed extends Error {
  constructor(
    readonly errorName: string,
    message: string,
  ) {
    super(message);
  }
}

/** One worker thread that runs one part of the inspection once. */
class PartWorker {
  private readonly worker: Worker;
  private readonly result: Promise<StructurePart | HashPart | SnapshotInspection>;
  private revisionListener: ((r: bigint) => void) | undefined;

  constructor() {
    tuneBackupHeaps();
    this.worker = new Worker(new URL(import.meta.url));
    this.worker.unref();
    this.result = new Promise<StructurePart | HashPart | SnapshotInspection>((resolve, reject) => {
      this.worker.on('message', (m: Reply) => {
        if (m.kind === 'revision') this.revisionListener?.(m.revision);
        else if (m.kind === 'done') resolve(m.result);
        else reject(new InspectionFailed(m.name, m.message));
      });
      this.worker.once('error', reject);
      this.worker.once('exit', (code) => reject(new Error(`inspection worker exited (code ${code})`)));
    });
    this.result.catch(() => undefined);
  }

  run(path: string, part: InspectionPart, onRevision?: (revision: bigint) => void, holes?: PageHoles) {
    this.revisionListener = onRevision;
    this.worker.postMessage({ path, part, ...(holes ? { holes } : {}) } satisfies Request);
    return this.result;
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

/** Below this db size one worker runs both parts: starting a second thread costs more than it saves. */
export const PARALLEL_MIN_BYTES = 64n << 20n;

/**
 * Whether a db of this size is inspected on two threads: only from PARALLEL_MIN_BYTES, and with more than two
 * cores unless the spool is mostly holes (`spooledShare` ≤ 0.5, see sparse-spool.ts). On two cores with a
 * full spool the A/B bench (bench/backup.ts --baseline) measured no wall-time gain and ~1 CPU s more per GiB
 * (a second start-up and second page reads), and the reader's CRC helper thread wants the second core for
 * the values; with the values left out of the spool there is little for it to do.
 */
export function parallelInspection(
  dbSize: bigint,
  cores = availableParallelism(),
  spooledShare = 1,
): boolean {
  return dbSize >= PARALLEL_MIN_BYTES && (cores > 2 || (cores === 2 && spooledShare <= 0.5));
}

export class InspectionWorker {
  private readonly structure: PartWorker;
  private readonly hash: PartWorker | undefined;

  /**
   * `parallel`: two threads (see parallelInspection) or one. Throws when a worker cannot be started (the
   * caller then inspects on the main thread).
   */
  constructor(parallel: boolean) {
    this.structure = new PartWorker();
    if (!parallel) return;
    try {
      this.hash = new PartWorker();
    } catch (err) {
      void this.structure.close();
      throw err;
    }
  }

  /**
   * Inspects the file; `onRevision` hears the snapshot's revision early (before the structure check has
   * passed: the result is used only if it does). A failed structure check stops the HashKV part at once,
   * so it never runs long on a damaged file. `split: false` runs both parts on one thread even when two
   * were started.
   */
  async inspect(
    path: string,
    onRevision?: (revision: bigint) => void,
    holes?: PageHoles,
    split = true,
  ): Promise<SnapshotInspection> {
    if (!this.hash || !split) {
      return this.structure.run(path, 'all', onRevision, holes) as Promise<SnapshotInspection>;
    }
    const hashWorker = this.hash;
    const structure = this.structure.run(path, 'structure', undefined, holes) as Promise<StructurePart>;
    const hash = hashWorker.run(path, 'hash', onRevision, holes) as Promise<HashPart>;
    hash.catch(() => undefined);
    let s: StructurePart;
    try {
      s = await structure;
    } catch (err) {
      void hashWorker.close();
      throw err;
    }
    if (!s.structureOk) {
      void hashWorker.close();
      return combineInspection(s, undefined);
    }
    return combineInspection(s, await hash);
  }

  async close(): Promise<void> {
    await Promise.all([this.structure.close(), this.hash?.close()]);
  }
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  port.once('message', (req: Request) => {
    let replied = false;
    try {
      inspectPart(
        req.path,
        req.part,
        (revision) => port.postMessage({ kind: 'revision', revision } satisfies Reply),
        (result) => {
          replied = true;
          port.postMessage({ kind: 'done', result } satisfies Reply);
        },
        req.holes,
      );
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const name = err instanceof Error ? err.name : 'Error';
      if (!replied) port.postMessage({ kind: 'failed', name, message } satisfies Reply);
    }
  });
}
