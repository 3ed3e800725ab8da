/**
 * `backup verify ID`: re-reads the stored object (size and sha256 against the manifest), decrypts and
 * decompresses it into a private spool file, checks etcd's sha256 trailer and both meta pages, then runs
 * the full bbolt structure check on the spooled copy. The spool is removed afterwards.
 */
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Repository } from '../stores/repository.js';
import { onCleanup } from '../util/cleanup.js';
import { VerificationError } from '../util/errors.js';
import type { BackupManifest } from './manifest.js';
import { inspectSnapshotFile } from './inspect.js';
import { downloadBackup } from './read.js';
import { restoreTest, type RestoreTestResult } from './restore-test.js';

export interface VerifyReport {
  id: string;
  storedBytesOk: boolean;
  sha256Ok: boolean;
  metaPagesOk: boolean;
  structureOk: boolean;
  structureProblems: string[];
  size: bigint;
  revision: bigint;
  compactRevision: bigint;
  liveKeys: bigint;
  hashKV: number;
  objectsPerResource: Record<string, number>;
  restoreTest: RestoreTestResult | null;
}

export async function verifyBackup(
  repo: Repository,
  id: string,
  identities: string[],
  opts: { spoolDir?: string; restoreTest?: boolean; etcdBinDir?: string; log?: (l: string) => void } = {},
): Promise<{ manifest: BackupManifest; report: VerifyReport }> {
  const dir = mkdtempSync(join(opts.spoolDir ?? tmpdir(), 'lifeboat-verify-'));
  const unregister = onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  try {
    await fs.chmod(dir, 0o700);
    const file = join(dir, 'snapshot.db');
    // downloadBackup checks stored size/sha256, the age authentication, the trailer and the metas.
    const { manifest, facts } = await downloadBackup(repo, id, identities, file);
    const ins = inspectSnapshotFile(file);
    const problems = ins.structureProblems;
    if (!ins.structureOk) {
      throw new VerificationError(
        `backup ${id}: bbolt structure check failed: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? ` (+${problems.length - 3} more)` : ''}`,
      );
    }
    const diffs: string[] = [];
    if (manifest.revision !== null && manifest.revision !== ins.revision) {
      diffs.push(`revision ${ins.revision} vs ${manifest.revision}`);
    }
    if (manifest.liveKeys !== null && manifest.liveKeys !== ins.liveKeys) {
      diffs.push(`liveKeys ${ins.liveKeys} vs ${manifest.liveKeys}`);
    }
    if (manifest.hashKV !== null && manifest.hashKV !== ins.hashKV) {
      diffs.push(`hashKV ${ins.hashKV} vs ${manifest.hashKV}`);
    }
    if (diffs.length) {
      throw new VerificationError(`backup ${id}: snapshot differs from the manifest: ${diffs.join(', ')}`);
    }
    const restored = opts.restoreTest
      ? await restoreTest(manifest, file, {
          ...(opts.etcdBinDir ? { binDir: opts.etcdBinDir } : {}),
          ...(opts.log ? { log: opts.log } : {}),
        })
      : undefined;
    return {
      manifest,
      report: {
        id,
        storedBytesOk: true,
        sha256Ok: true,
        metaPagesOk: true,
        structureOk: true,
        structureProblems: problems,
        size: facts.size,
        revision: ins.revision,
        compactRevision: ins.compactRevision,
        liveKeys: ins.liveKeys,
        hashKV: ins.hashKV,
        objectsPerResource: ins.objectsPerResource,
        restoreTest: restored ?? null,
      },
    };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
    unregister();
  }
}
