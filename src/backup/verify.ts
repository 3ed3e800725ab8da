/**
 * `backup verify ID`: re-reads the stored object (size and sha256 against the manifest), decrypts and
 * decompresses it into a private spool file, checks etcd's sha256 trailer and both meta pages, then runs
 * the full bbolt structure check on the spooled copy. The spool is removed afterwards.
 *
 * Manifests are write-once (S3 versioning/Object Lock, several writers), so what a later check learns — the
 * revision, liveKeys, hashKV and content summary a manifest with `structureChecked: false` lacks, and the
 * outcome of a restore test — goes into a separate write-once record `verifications/<id>/<stamp>.json`
 * (kind BackupVerification, key layout in src/stores/layout.ts). A backup counts as verified when its
 * newest record passed.
 */
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  idOfVerificationKey,
  verificationKey,
  verificationPrefix,
  VERIFICATION_PREFIX,
} from '../stores/layout.js';
import type { Repository } from '../stores/repository.js';
import { onCleanup } from '../util/cleanup.js';
import { CorruptInputError, VerificationError } from '../util/errors.js';
import { LIFEBOAT_API_VERSION, lifeboatDoc, stringifyJson } from '../util/json.js';
import { lifeboatVersion } from '../util/version.js';
import { parseContents, parseJsonExact, smallInt, type BackupManifest } from './manifest.js';
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
  /** Manifest fields that were null (structureChecked: false) and this verification computed. */
  filledIn: string[];
  /** The verification record written, if any. */
  record: string | null;
}

export interface VerificationRecord {
  apiVersion: string;
  kind: 'BackupVerification';
  backup: string;
  verified: string;
  lifeboatVersion: string;
  result: 'passed' | 'failed';
  problem: string | null;
  restoreTested: boolean;
  revision: bigint | null;
  compactRevision: bigint | null;
  liveKeys: bigint | null;
  hashKV: number | null;
  contents: { objectsPerResource: Record<string, number> } | null;
  restoreTest: RestoreTestResult | null;
  filledIn: string[];
}

async function writeRecord(
  repo: Repository,
  body: Omit<VerificationRecord, 'apiVersion' | 'kind' | 'lifeboatVersion'>,
  at: Date,
): Promise<string> {
  const key = verificationKey(body.backup, at, randomBytes(4).toString('hex'));
  const doc = lifeboatDoc('BackupVerification', { ...body, lifeboatVersion: lifeboatVersion() });
  await repo.put(key, Buffer.from(`${stringifyJson(doc)}\n`));
  return key;
}

function parseRecord(text: string, where: string): VerificationRecord {
  let raw: Record<string, unknown>;
  try {
    raw = parseJsonExact(text) as Record<string, unknown>;
  } catch (err) {
    throw new CorruptInputError(where, `not JSON: ${(err as Error).message}`);
  }
  if (raw?.apiVersion !== LIFEBOAT_API_VERSION || raw.kind !== 'BackupVerification') {
    throw new CorruptInputError(where, `expected kind BackupVerification, found ${String(raw?.kind)}`);
  }
  if (raw.result !== 'passed' && raw.result !== 'failed') {
    throw new CorruptInputError(where, `result: expected passed or failed, found ${String(raw.result)}`);
  }
  const rt = raw.restoreTest as Record<string, unknown> | null | undefined;
  return {
    ...(raw as unknown as VerificationRecord),
    hashKV: raw.hashKV === null || raw.hashKV === undefined ? null : smallInt(raw.hashKV, 'hashKV', where),
    contents: parseContents(raw.contents, where),
    restoreTest: rt
      ? ({ ...rt, hashKV: smallInt(rt.hashKV, 'restoreTest.hashKV', where) } as unknown as RestoreTestResult)
      : null,
  };
}

/** The verification records of one backup, oldest first (unreadable ones reported through onBad). */
export async function readVerifications(
  repo: Repository,
  id: string,
  onBad: (key: string, err: unknown) => void = () => undefined,
): Promise<VerificationRecord[]> {
  const out: VerificationRecord[] = [];
  for (const o of await repo.list(verificationPrefix(id))) {
    try {
      out.push(parseRecord((await repo.getBytes(o.key)).toString('utf8'), `${repo.location}${o.key}`));
    } catch (err) {
      onBad(o.key, err);
    }
  }
  return out;
}

/** The outcome of each backup's newest verification record, from one listing of verifications/. */
export async function verificationStatus(
  repo: Repository,
): Promise<Map<string, { result: 'passed' | 'failed'; restoreTested: boolean }>> {
  const newest = new Map<string, string>();
  for (const o of await repo.list(VERIFICATION_PREFIX)) {
    const id = idOfVerificationKey(o.key);
    if (id && (newest.get(id) ?? '') < o.key) newest.set(id, o.key);
  }
  const out = new Map<string, { result: 'passed' | 'failed'; restoreTested: boolean }>();
  for (const [id, key] of newest) {
    try {
      const r = parseRecord((await repo.getBytes(key)).toString('utf8'), `${repo.location}${key}`);
      out.set(id, { result: r.result, restoreTested: r.restoreTested === true });
    } catch {
      // An unreadable record verifies nothing.
      out.set(id, { result: 'failed', restoreTested: false });
    }
  }
  return out;
}

/** Backup ids whose newest verification record passed (and included a restore test, if required). */
export async function verifiedBackupIds(
  repo: Repository,
  opts: { requireRestoreTest?: boolean } = {},
): Promise<Set<string>> {
  const ok = new Set<string>();
  for (const [id, s] of await verificationStatus(repo)) {
    if (s.result === 'passed' && (!opts.requireRestoreTest || s.restoreTested)) ok.add(id);
  }
  return ok;
}

/**
 * Whether a backup counts as verified: its newest verification record passed (with a restore test when
 * restoreTests), or — without required restore tests — it has no record and was structure-checked at create.
 */
export function isVerified(
  m: Pick<BackupManifest, 'id' | 'structureChecked'>,
  status: Map<string, { result: 'passed' | 'failed'; restoreTested: boolean }>,
  restoreTests: boolean,
): boolean {
  const s = status.get(m.id);
  if (s) return s.result === 'passed' && (!restoreTests || s.restoreTested);
  return !restoreTests && m.structureChecked;
}

export async function verifyBackup(
  repo: Repository,
  id: string,
  identities: string[],
  opts: {
    spoolDir?: string;
    restoreTest?: boolean;
    etcdBinDir?: string;
    log?: (l: string) => void;
    /** Write a verifications/<id>/<stamp>.json record of the outcome (passed, or a failed check). */
    record?: boolean;
    now?: () => Date;
  } = {},
): Promise<{ manifest: BackupManifest; report: VerifyReport }> {
  const now = opts.now ?? (() => new Date());
  try {
    return await verifyOnce(repo, id, identities, opts, now);
  } catch (err) {
    if (opts.record && (err instanceof VerificationError || err instanceof CorruptInputError)) {
      const key = await writeRecord(
        repo,
        {
          backup: id,
          verified: now().toISOString(),
          result: 'failed',
          problem: err.message,
          restoreTested: Boolean(opts.restoreTest),
          revision: null,
          compactRevision: null,
          liveKeys: null,
          hashKV: null,
          contents: null,
          restoreTest: null,
          filledIn: [],
        },
        now(),
      ).catch((e: Error) => {
        opts.log?.(`could not write the verification record: ${e.message}`);
        return undefined;
      });
      if (key) opts.log?.(`recorded the failed verification in ${key}`);
    }
    throw err;
  }
}

async function verifyOnce(
  repo: Repository,
  id: string,
  identities: string[],
  opts: {
    spoolDir?: string;
    restoreTest?: boolean;
    etcdBinDir?: string;
    log?: (l: string) => void;
    record?: boolean;
  },
  now: () => Date,
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
      ? // A manifest without numbers (structureChecked: false) is compared with what this verify computed.
        await restoreTest(
          {
            ...manifest,
            revision: manifest.revision ?? ins.revision,
            liveKeys: manifest.liveKeys ?? ins.liveKeys,
            hashKV: manifest.hashKV ?? ins.hashKV,
          },
          file,
          {
            ...(opts.etcdBinDir ? { binDir: opts.etcdBinDir } : {}),
            ...(opts.log ? { log: opts.log } : {}),
          },
        )
      : undefined;
    const filledIn = [
      ...(manifest.revision === null ? ['revision'] : []),
      ...(manifest.compactRevision === null ? ['compactRevision'] : []),
      ...(manifest.liveKeys === null ? ['liveKeys'] : []),
      ...(manifest.hashKV === null ? ['hashKV'] : []),
      ...(manifest.contents === null ? ['contents'] : []),
    ];
    let record: string | null = null;
    if (opts.record) {
      record = await writeRecord(
        repo,
        {
          backup: id,
          verified: now().toISOString(),
          result: 'passed',
          problem: null,
          restoreTested: Boolean(restored),
          revision: ins.revision,
          compactRevision: ins.compactRevision,
          liveKeys: ins.liveKeys,
          hashKV: ins.hashKV,
          contents: { objectsPerResource: ins.objectsPerResource },
          restoreTest: restored ?? null,
          filledIn,
        },
        now(),
      ).catch((e: Error) => {
        // A read-only credential can verify; it just cannot leave a record.
        opts.log?.(`warning: could not write the verification record: ${e.message}`);
        return null;
      });
      if (record) opts.log?.(`recorded the verification in ${record}`);
    }
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
        filledIn,
        record,
      },
    };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
    unregister();
  }
}
