/**
 * Runs the inspection of a spooled snapshot (inspect.ts) on a worker thread, so the main thread goes on
 * finishing the upload and asking the member for its HashKV meanwhile. The worker is started before the
 * stream (its start-up overlaps the transfer) and inspects exactly one file.
 */
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { inspectSnapshotFile, type SnapshotInspection } from './inspect.js';

type Request = { path: string };
type Reply =
  | { kind: 'revision'; revision: bigint }
  | { kind: 'done'; inspection: SnapshotInspection }
  | { kind: 'failed'; message: string };

export class InspectionWorker {
  private readonly worker: Worker;
  private readonly result: Promise<SnapshotInspection>;
  private revisionListener: ((r: bigint) => void) | undefined;

  constructor() {
    this.worker = new Worker(new URL(import.meta.url));
    this.worker.unref();
    this.result = new Promise<SnapshotInspection>((resolve, reject) => {
      this.worker.on('message', (m: Reply) => {
        if (m.kind === 'revision') this.revisionListener?.(m.revision);
        else if (m.kind === 'done') resolve(m.inspection);
        else reject(new Error(m.message));
      });
      this.worker.once('error', reject);
      this.worker.once('exit', (code) => reject(new Error(`inspection worker exited (code ${code})`)));
    });
    this.result.catch(() => undefined);
  }

  /** Inspects the file; `onRevision` as for inspectSnapshotFile. */
  inspect(path: string, onRevision?: (revision: bigint) => void): Promise<SnapshotInspection> {
    this.revisionListener = onRevision;
    this.worker.postMessage({ path } satisfies Request);
    return this.result;
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  port.once('message', (req: Request) => {
    let reply: Reply;
    try {
      const inspection = inspectSnapshotFile(req.path, (revision) =>
        port.postMessage({ kind: 'revision', revision } satisfies Reply),
      );
      reply = { kind: 'done', inspection };
    } catch (err) {
      reply = { kind: 'failed', message: err instanceof Error ? err.message : String(err) };
    }
    port.postMessage(reply);
  });
}
