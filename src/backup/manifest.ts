/**
 * The Backup manifest (apiVersion lifeboat/v1alpha1, kind Backup): written last, after every artifact is
 * complete; a backup exists in a repository exactly when its manifest does.
 */
import { isInteger, parse as parseLossless } from 'lossless-json';
import { CorruptInputError } from '../util/errors.js';
import { LIFEBOAT_API_VERSION, lifeboatDoc, stringifyJson } from '../util/json.js';
import type { Compression } from './compression.js';

export interface ArtifactEncryption {
  /** `age-v1`, or `none` for an unencrypted artifact. */
  format: 'age-v1' | 'none';
  recipientFingerprints: string[];
}

export interface Artifact {
  kind: 'etcd-snapshot';
  /** Object key relative to the repository root. */
  object: string;
  /** Bytes of the plain artifact (for a snapshot: the bbolt file plus its 32-byte sha256 trailer). */
  size: bigint;
  /** Bytes stored in the repository (after compression and encryption). */
  storedSize: bigint;
  sha256: string;
  storedSha256: string;
  compression: Compression;
  encryption: ArtifactEncryption;
}

export interface BackupSource {
  memberId: string;
  memberName: string;
  endpoint: string;
  etcdVersion: string;
  raftAppliedIndex: bigint;
  reason: string;
}

export interface BackupBody {
  id: string;
  cluster: { name: string; etcdClusterId: string };
  created: string;
  lifeboatVersion: string;
  source: BackupSource;
  revision: bigint | null;
  compactRevision: bigint | null;
  liveKeys: bigint | null;
  hashKV: number | null;
  structureChecked: boolean;
  /**
   * Why the structure check and content summary did not run at create time (null when they ran): the
   * spool pre-flight's or create.ts's reason; a generic one when the writer leaves it undefined.
   */
  structureCheckSkipped?: string | null;
  artifacts: Artifact[];
  contents: { objectsPerResource: Record<string, number> } | null;
}

export type BackupManifest = { apiVersion: string; kind: string } & BackupBody;

export function makeManifest(body: BackupBody): BackupManifest {
  const skipped =
    body.structureCheckSkipped ?? (body.structureChecked ? null : 'the spooled copy was not inspected');
  // Key order: structureCheckSkipped right after structureChecked.
  const { artifacts, contents, ...head } = body;
  return lifeboatDoc('Backup', { ...head, structureCheckSkipped: skipped, artifacts, contents });
}

export function serializeManifest(m: BackupManifest): string {
  return `${stringifyJson(m)}\n`;
}

/**
 * Parses JSON keeping every integer exact: integers become bigint, other numbers stay numbers. Manifests
 * carry int64 values (revision, sizes, raftAppliedIndex) above 2^53 that JSON.parse would round.
 */
export function parseJsonExact(text: string): unknown {
  return parseLossless(text, null, (v: string) => (isInteger(v) ? BigInt(v) : Number(v)));
}

/** An int64 field: a bigint (from parseJsonExact) or a decimal string; anything else is corrupt. */
function int64(v: unknown, field: string, where: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  throw new CorruptInputError(where, `${field}: expected an integer, found ${String(v)}`);
}

function int64OrNull(v: unknown, field: string, where: string): bigint | null {
  return v === null || v === undefined ? null : int64(v, field, where);
}

/** Small counts (hashKV is a uint32, per-resource counts) as numbers. */
export function smallInt(v: unknown, field: string, where: string): number {
  const b = int64(v, field, where);
  if (b < 0n || b > BigInt(Number.MAX_SAFE_INTEGER))
    throw new CorruptInputError(where, `${field}: expected 0..2^53-1, found ${b}`);
  return Number(b);
}

/** Parses and checks a manifest read from `where`; anything unexpected is a CorruptInputError. */
export function parseManifest(text: string, where: string, expectedId?: string): BackupManifest {
  let raw: Record<string, unknown>;
  try {
    raw = parseJsonExact(text) as Record<string, unknown>;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('expected an object');
  } catch (err) {
    throw new CorruptInputError(where, `not JSON: ${(err as Error).message}`);
  }
  const fail = (problem: string): never => {
    throw new CorruptInputError(where, problem);
  };
  if (raw.apiVersion !== LIFEBOAT_API_VERSION || raw.kind !== 'Backup') {
    fail(
      `expected apiVersion ${LIFEBOAT_API_VERSION} kind Backup, found ${String(raw.apiVersion)} ${String(raw.kind)}`,
    );
  }
  if (typeof raw.id !== 'string' || (expectedId && raw.id !== expectedId)) {
    fail(`expected id ${expectedId ?? '(a string)'}, found ${String(raw.id)}`);
  }
  const arts = raw.artifacts;
  if (!Array.isArray(arts) || arts.length === 0) fail('expected a non-empty artifacts list');
  const source = (raw.source ?? {}) as Record<string, unknown>;
  const artifacts = (arts as Record<string, unknown>[]).map((a, i) => {
    for (const f of ['kind', 'object', 'sha256', 'storedSha256', 'compression']) {
      if (typeof a[f] !== 'string') fail(`artifacts[${i}].${f}: expected a string`);
    }
    const enc = (a.encryption ?? {}) as Record<string, unknown>;
    return {
      kind: a.kind as 'etcd-snapshot',
      object: a.object as string,
      size: int64(a.size, `artifacts[${i}].size`, where),
      storedSize: int64(a.storedSize, `artifacts[${i}].storedSize`, where),
      sha256: a.sha256 as string,
      storedSha256: a.storedSha256 as string,
      compression: a.compression as Compression,
      encryption: {
        format: (enc.format as 'age-v1' | 'none') ?? 'none',
        recipientFingerprints: (enc.recipientFingerprints as string[]) ?? [],
      },
    };
  });
  const cluster = (raw.cluster ?? {}) as Record<string, unknown>;
  return makeManifest({
    id: raw.id as string,
    cluster: { name: String(cluster.name ?? ''), etcdClusterId: String(cluster.etcdClusterId ?? '') },
    created: String(raw.created ?? ''),
    lifeboatVersion: String(raw.lifeboatVersion ?? ''),
    source: {
      memberId: String(source.memberId ?? ''),
      memberName: String(source.memberName ?? ''),
      endpoint: String(source.endpoint ?? ''),
      etcdVersion: String(source.etcdVersion ?? ''),
      raftAppliedIndex: int64(source.raftAppliedIndex ?? 0n, 'source.raftAppliedIndex', where),
      reason: String(source.reason ?? ''),
    },
    revision: int64OrNull(raw.revision, 'revision', where),
    compactRevision: int64OrNull(raw.compactRevision, 'compactRevision', where),
    liveKeys: int64OrNull(raw.liveKeys, 'liveKeys', where),
    hashKV: raw.hashKV === null || raw.hashKV === undefined ? null : smallInt(raw.hashKV, 'hashKV', where),
    structureChecked: raw.structureChecked === true,
    structureCheckSkipped:
      typeof raw.structureCheckSkipped === 'string'
        ? raw.structureCheckSkipped
        : raw.structureChecked === true
          ? null
          : 'not recorded (manifest written before Lifeboat recorded the reason)',
    artifacts,
    contents: parseContents(raw.contents, where),
  });
}

export function parseContents(v: unknown, where: string): BackupBody['contents'] {
  if (v === null || v === undefined) return null;
  const per = (v as { objectsPerResource?: unknown }).objectsPerResource;
  if (typeof per !== 'object' || per === null)
    throw new CorruptInputError(where, 'contents.objectsPerResource: expected an object');
  const out: Record<string, number> = {};
  for (const [k, n] of Object.entries(per as Record<string, unknown>)) {
    out[k] = smallInt(n, `contents.objectsPerResource.${k}`, where);
  }
  return { objectsPerResource: out };
}
