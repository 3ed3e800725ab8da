/**
 * Every object key Lifeboat writes into a backup repository, in one place. Keys are relative to the
 * repository root (a directory, or an S3 bucket plus prefix):
 *
 *   manifests/<id>.json            the Backup manifest; written last, removed first
 *   data/<id>/<artifact file>      the artifacts of one backup (etcd-snapshot.db[.zst|.gz][.age])
 *   locks/<name>.json              scheduler leases (one object per cluster and slot)
 *   verifications/<id>/<stamp>.json  write-once records of later checks of a backup (`backup verify`,
 *                                  scheduled restore tests); manifests are never rewritten
 *
 * A backup exists only when its manifest exists. Data without a manifest is an upload in progress or a
 * leftover of a crashed writer; `backup gc` removes it after a grace period.
 */
import { UsageError } from '../util/errors.js';

export const MANIFEST_PREFIX = 'manifests/';
export const DATA_PREFIX = 'data/';
export const LOCK_PREFIX = 'locks/';
export const VERIFICATION_PREFIX = 'verifications/';

const ID_RE = /^\d{8}T\d{6}Z-[0-9a-f]{8}$/;

export function isBackupId(id: string): boolean {
  return ID_RE.test(id);
}

export function assertBackupId(id: string): void {
  if (!isBackupId(id)) {
    throw new UsageError(`backup id: expected <yyyymmddThhmmssZ>-<8 hex>, found '${id}'`);
  }
}

export function manifestKey(id: string): string {
  assertBackupId(id);
  return `${MANIFEST_PREFIX}${id}.json`;
}

export function dataPrefix(id: string): string {
  assertBackupId(id);
  return `${DATA_PREFIX}${id}/`;
}

/** The file name of an etcd snapshot artifact for a compression and encryption. */
export function snapshotObjectName(compression: string, encrypted: boolean): string {
  const ext = compression === 'zstd' ? '.zst' : compression === 'gzip' ? '.gz' : '';
  return `etcd-snapshot.db${ext}${encrypted ? '.age' : ''}`;
}

export function dataKey(id: string, objectName: string): string {
  return `${dataPrefix(id)}${objectName}`;
}

/** The backup id of a manifest key, or undefined for foreign objects. */
export function idOfManifestKey(key: string): string | undefined {
  if (!key.startsWith(MANIFEST_PREFIX) || !key.endsWith('.json')) return undefined;
  const id = key.slice(MANIFEST_PREFIX.length, -'.json'.length);
  return isBackupId(id) ? id : undefined;
}

/** The backup id of a data key, or undefined for foreign objects. */
export function idOfDataKey(key: string): string | undefined {
  if (!key.startsWith(DATA_PREFIX)) return undefined;
  const id = key.slice(DATA_PREFIX.length).split('/')[0] ?? '';
  return isBackupId(id) ? id : undefined;
}

export function lockKey(name: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new UsageError(`lock name: unexpected characters in '${name}'`);
  return `${LOCK_PREFIX}${name}.json`;
}

/** The folder of a backup's verification records. */
export function verificationPrefix(id: string): string {
  assertBackupId(id);
  return `${VERIFICATION_PREFIX}${id}/`;
}

/** One verification record: `verifications/<id>/<yyyymmddThhmmss.mmmZ>-<suffix>.json` (sortable by time). */
export function verificationKey(id: string, at: Date, suffix: string): string {
  if (!/^[0-9a-f]{4,16}$/.test(suffix))
    throw new UsageError(`verification suffix: expected hex, found '${suffix}'`);
  const stamp = at.toISOString().replace(/[-:]/g, '');
  return `${verificationPrefix(id)}${stamp}-${suffix}.json`;
}

/** The backup id of a verification record key, or undefined for foreign objects. */
export function idOfVerificationKey(key: string): string | undefined {
  if (!key.startsWith(VERIFICATION_PREFIX) || !key.endsWith('.json')) return undefined;
  const id = key.slice(VERIFICATION_PREFIX.length).split('/')[0] ?? '';
  return isBackupId(id) ? id : undefined;
}
