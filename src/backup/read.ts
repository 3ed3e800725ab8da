/**
 * Reading backups back: manifests, listing, and the plain etcd snapshot of a backup (stored bytes hashed,
 * decrypted, decompressed, trailer and meta pages checked), streamed into an atomic output file.
 */
import { createHash } from 'node:crypto';
import { Transform, pipeline, type Readable, type TransformCallback } from 'node:stream';
import { idOfManifestKey, manifestKey, MANIFEST_PREFIX } from '../stores/layout.js';
import type { Repository } from '../stores/repository.js';
import { AtomicFile } from '../util/atomic-file.js';
import { CorruptInputError, VerificationError } from '../util/errors.js';
import { decompressor } from './compression.js';
import { decryptStream, IdentityError } from './encryption.js';
import { parseManifest, type Artifact, type BackupManifest } from './manifest.js';
import { SnapshotChecker, type SnapshotFacts } from './snapshot-stream.js';

export async function readManifest(repo: Repository, id: string): Promise<BackupManifest> {
  const key = manifestKey(id);
  const bytes = await repo.getBytes(key);
  return parseManifest(bytes.toString('utf8'), `${repo.location}${key}`, id);
}

/** Every backup's manifest, oldest first. Unreadable manifests are reported through onBad, not thrown. */
export async function listBackups(
  repo: Repository,
  onBad: (key: string, err: unknown) => void = () => undefined,
): Promise<BackupManifest[]> {
  const objs = await repo.list(MANIFEST_PREFIX);
  const out: BackupManifest[] = [];
  for (const o of objs) {
    const id = idOfManifestKey(o.key);
    if (!id) continue;
    try {
      out.push(await readManifest(repo, id));
    } catch (err) {
      onBad(o.key, err);
    }
  }
  // Oldest first, by creation time (ids carry whole seconds only), then by id.
  const t = (m: BackupManifest) => Date.parse(m.created) || 0;
  return out.sort((a, b) => t(a) - t(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function snapshotArtifact(m: BackupManifest): Artifact {
  const a = m.artifacts.find((x) => x.kind === 'etcd-snapshot');
  if (!a) throw new CorruptInputError(`backup ${m.id}`, 'manifest lists no etcd-snapshot artifact');
  return a;
}

class Tap extends Transform {
  readonly hash = createHash('sha256');
  size = 0;
  constructor(private readonly each?: (c: Buffer) => void) {
    super();
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    try {
      this.each?.(chunk);
    } catch (err) {
      cb(err as Error);
      return;
    }
    cb(null, chunk);
  }
}

export interface PlainStream {
  stream: Readable;
  /** Resolves after the stream ended, with every check done (throws VerificationError otherwise). */
  finished: () => SnapshotFacts;
}

/** The plain snapshot of a backup as a stream, with the checks against the manifest. */
export async function openPlainSnapshot(
  repo: Repository,
  manifest: BackupManifest,
  identities: string[],
): Promise<PlainStream> {
  const a = snapshotArtifact(manifest);
  const what = `backup ${manifest.id} (${a.object})`;
  if (a.encryption.format !== 'none' && identities.length === 0) {
    throw new IdentityError(what, 'the backup is encrypted; pass --encryption-identity FILE');
  }
  const raw = await repo.get(a.object);
  const storedTap = new Tap();
  const stored = pipeline(raw, storedTap, () => undefined);
  const decrypted = a.encryption.format === 'none' ? stored : await decryptStream(stored, identities, what);
  const checker = new SnapshotChecker(what);
  const plainTap = new Tap((c) => checker.update(c));
  const plain = pipeline(decrypted, decompressor(a.compression), plainTap, () => undefined);
  return {
    stream: plain,
    finished: () => {
      const storedSha = storedTap.hash.digest('hex');
      if (BigInt(storedTap.size) !== a.storedSize || storedSha !== a.storedSha256) {
        throw new VerificationError(
          `${what}: stored object differs from the manifest (size ${storedTap.size} vs ${a.storedSize}, sha256 ${storedSha} vs ${a.storedSha256})`,
        );
      }
      const facts = checker.finish();
      if (facts.sha256 !== a.sha256 || facts.size !== a.size) {
        throw new VerificationError(
          `${what}: snapshot differs from the manifest (sha256 ${facts.sha256} vs ${a.sha256}, size ${facts.size} vs ${a.size})`,
        );
      }
      return facts;
    },
  };
}

/** Writes the plain etcd snapshot of a backup to `out` (0600, atomic: nothing on failure). */
export async function downloadBackup(
  repo: Repository,
  id: string,
  identities: string[],
  out: string,
  opts: { force?: boolean } = {},
): Promise<{ manifest: BackupManifest; facts: SnapshotFacts }> {
  const manifest = await readManifest(repo, id);
  const plain = await openPlainSnapshot(repo, manifest, identities);
  const file = await AtomicFile.open(out, { force: opts.force ?? false, mode: 0o600 });
  try {
    for await (const chunk of plain.stream as AsyncIterable<Buffer>) await file.write(chunk);
    const facts = plain.finished();
    await file.commit();
    return { manifest, facts };
  } catch (err) {
    await file.abort();
    plain.stream.destroy();
    throw err;
  }
}
