/**
 * The spool file of one `backup create` stream: a private directory in the spool directory, opened only when
 * the directory has at least 1.1× the db size free (the pipeline thread writes the sparse copy into it, see
 * sparse-spool.ts), and removed with its directory when the backup is done or the process is interrupted.
 */
import { promises as fs, rmSync } from 'node:fs';
import { join } from 'node:path';
import { onCleanup } from '../util/cleanup.js';

/** A private spool file for one stream, when the spool directory has room. */
export interface Spool {
  path: string;
  /** Open for writing; the pipeline thread writes the plain bytes to it. */
  fd: number;
  /** Why the structure check cannot run from this spool (set when a write failed). */
  skipReason: string | undefined;
  /** Closes and removes the spool (idempotent). */
  remove: () => Promise<void>;
}

export async function openSpool(
  dir: string | undefined,
  dbSize: bigint,
  log: (l: string) => void,
): Promise<Spool | { skipReason: string }> {
  if (!dir) return { skipReason: 'no spool directory (--no-spool)' };
  let free: bigint;
  try {
    const st = await fs.statfs(dir, { bigint: true });
    free = st.bavail * st.bsize;
  } catch (err) {
    const reason = `spool directory ${dir} unusable (${(err as Error).message}); skipping the structure check`;
    log(reason);
    return { skipReason: reason };
  }
  if (free * 10n < dbSize * 11n) {
    const reason = `spool directory ${dir} has ${free} bytes free, less than 1.1× the db size ${dbSize}; skipping the structure check`;
    log(reason);
    return { skipReason: reason };
  }
  const sub = await fs.mkdtemp(join(dir, 'lifeboat-spool-'));
  const path = join(sub, 'snapshot.db');
  const unregister = onCleanup(() => rmSync(sub, { recursive: true, force: true }));
  const handle = await fs.open(path, 'wx', 0o600);
  let removed: Promise<void> | undefined;
  return {
    path,
    fd: handle.fd,
    skipReason: undefined,
    remove: () =>
      (removed ??= (async () => {
        await handle.close().catch(() => undefined);
        await fs.rm(sub, { recursive: true, force: true });
        unregister();
      })()),
  };
}
