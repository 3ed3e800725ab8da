/**
 * The Backup manifest (apiVersion lifeboat/v1alpha1, kind Backup): written last, after every artifact is
 * complete; a backup exists in a repository exactly when its manifest does.
 */
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
  artifacts: Artifact[];
  contents: { objectsPerResource: Record<string, number> } | null;
}

export type BackupManifest = { apiVersion: string; kind: string } & BackupBody;

export function makeManifest(body: BackupBody): BackupManifest {
  return lifeboatDoc('Backup', body);
}

export function serializeManifest(m: BackupManifest): string {
  return `${stringifyJson(m)}\n`;
}

const bigOrNull = (v: unknown): bigint | null => (v === null || v === undefined ? null : BigInt(v as number));

/** Parses and checks a manifest read from `where`; anything unexpected is a CorruptInputError. */
export function parseManifest(text: string, where: string, expectedId?: string): BackupManifest {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
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
      size: BigInt(a.size as number),
      storedSize: BigInt(a.storedSize as number),
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
      raftAppliedIndex: BigInt((source.raftAppliedIndex as number) ?? 0),
      reason: String(source.reason ?? ''),
    },
    revision: bigOrNull(raw.revision),
    compactRevision: bigOrNull(raw.compactRevision),
    liveKeys: bigOrNull(raw.liveKeys),
    hashKV: raw.hashKV === null || raw.hashKV === undefined ? null : Number(raw.hashKV),
    structureChecked: raw.structureChecked === true,
    artifacts,
    contents: (raw.contents as BackupBody['contents']) ?? null,
  });
}
