/**
 * Removing backups. `delete` and `prune` remove the manifest first, then the data, so a concurrent reader
 * never sees a manifest whose data is gone. Data without a manifest (an upload in progress, or a leftover
 * of a crash between the two steps) is removed only by `gc`, and only after a grace period.
 */
import {
  dataPrefix,
  DATA_PREFIX,
  idOfDataKey,
  idOfManifestKey,
  manifestKey,
  MANIFEST_PREFIX,
  verificationPrefix,
} from '../stores/layout.js';
import type { Repository } from '../stores/repository.js';
import { NotFoundError } from '../util/errors.js';
import { timeOfId } from './ids.js';
import { listBackups } from './read.js';
import { applyRetention, type RetentionDecision, type RetentionPolicy } from './retention.js';
import { isVerified, verificationStatus } from './verify.js';

export async function deleteBackup(repo: Repository, id: string): Promise<void> {
  const mk = manifestKey(id);
  if (!(await repo.stat(mk))) throw new NotFoundError(`backup ${id}`, repo.location);
  await repo.delete(mk);
  for (const o of await repo.list(dataPrefix(id))) await repo.delete(o.key);
  for (const o of await repo.list(verificationPrefix(id))) await repo.delete(o.key);
}

export interface PruneResult {
  decisions: RetentionDecision[];
  removed: string[];
}

export async function pruneBackups(
  repo: Repository,
  policy: RetentionPolicy,
  opts: { dryRun?: boolean; cluster?: string; log?: (l: string) => void } = {},
): Promise<PruneResult> {
  const manifests = (
    await listBackups(repo, (k, e) => opts.log?.(`skipping unreadable ${k}: ${(e as Error).message}`))
  ).filter((m) => opts.cluster === undefined || m.cluster.name === opts.cluster);
  const status = await verificationStatus(repo);
  const decisions = applyRetention(
    manifests.map((m) => ({
      id: m.id,
      cluster: m.cluster.name,
      created: new Date(m.created),
      // Verified: the newest verifications/ record passed, or (no record) structure-checked at create.
      verified: isVerified(m, status, false),
    })),
    policy,
  );
  const removed: string[] = [];
  for (const d of decisions) {
    if (d.keep) continue;
    if (!opts.dryRun) await deleteBackup(repo, d.item.id);
    removed.push(d.item.id);
  }
  return { decisions, removed };
}

export interface GcResult {
  /** Backup ids whose orphaned data was (or, with dryRun, would be) removed. */
  removed: string[];
  /** Orphaned data still inside the grace period. */
  kept: string[];
}

/** Removes data objects that have no manifest and are older than graceMs (by object time and id time). */
export async function gcRepository(
  repo: Repository,
  graceMs: number,
  opts: { dryRun?: boolean; now?: Date } = {},
): Promise<GcResult> {
  const now = (opts.now ?? new Date()).getTime();
  const manifests = new Set(
    (await repo.list(MANIFEST_PREFIX))
      .map((o) => idOfManifestKey(o.key))
      .filter((x): x is string => Boolean(x)),
  );
  const orphans = new Map<string, { keys: string[]; newest: number }>();
  for (const o of await repo.list(DATA_PREFIX)) {
    const id = idOfDataKey(o.key);
    if (!id || manifests.has(id)) continue;
    const e = orphans.get(id) ?? { keys: [], newest: 0 };
    e.keys.push(o.key);
    e.newest = Math.max(e.newest, o.modified.getTime(), timeOfId(id).getTime());
    orphans.set(id, e);
  }
  // Incomplete multipart uploads (S3) of backups without a manifest count as orphaned data too.
  const withUploads = repo as Repository & {
    incompleteUploadsSince?: (p: string) => Promise<{ key: string; initiated: Date }[]>;
    abortIncompleteUploads?: (k: string, patienceMs: number) => Promise<boolean>;
  };
  const uploads = withUploads.incompleteUploadsSince
    ? await withUploads.incompleteUploadsSince(DATA_PREFIX)
    : [];
  const pendingUploads = new Map<string, string[]>();
  for (const u of uploads) {
    const id = idOfDataKey(u.key);
    if (!id || manifests.has(id)) continue;
    const e = orphans.get(id) ?? { keys: [], newest: 0 };
    e.newest = Math.max(e.newest, u.initiated.getTime(), timeOfId(id).getTime());
    orphans.set(id, e);
    pendingUploads.set(id, [...(pendingUploads.get(id) ?? []), u.key]);
  }
  const removed: string[] = [];
  const kept: string[] = [];
  for (const [id, e] of [...orphans.entries()].sort()) {
    if (now - e.newest < graceMs) {
      kept.push(id);
      continue;
    }
    if (!opts.dryRun) {
      for (const k of e.keys) await repo.delete(k);
      for (const k of pendingUploads.get(id) ?? []) await withUploads.abortIncompleteUploads?.(k, 0);
    }
    removed.push(id);
  }
  return { removed, kept };
}
