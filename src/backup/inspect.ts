/**
 * What Lifeboat records about a snapshot's contents, computed offline by the snapshot reader from a
 * spooled plain copy (possibly sparse: `holes`, see src/bbolt/sparse.ts): revision, compact revision, live keys, etcd's HashKV at the revision, the full bbolt
 * structure check, and the number of live objects per Kubernetes resource.
 *
 * The work comes in two parts that can run at once on two threads (inspect-worker.ts): the structure check
 * followed by the content summary, and the HashKV (the longer one: it reads every value). The summary runs
 * only on a file whose structure passed; the HashKV part does not wait for the check, so its result counts
 * only when the check passed (a caller stops it when the check fails).
 */
import { keptBytes, type PageHoles } from '../bbolt/sparse.js';
import { EtcdDb } from '../etcd/index.js';
import { ResourceMap } from '../kube/resources.js';

export interface SnapshotInspection {
  revision: bigint;
  /** -1 when nothing was compacted (etcd's convention). */
  compactRevision: bigint;
  liveKeys: bigint;
  hashKV: number;
  structureOk: boolean;
  structureProblems: string[];
  /** `<resource>[.<group>]` → live objects; keys outside the prefix count under `(other)`. */
  objectsPerResource: Record<string, number>;
}

/** The structure check and, when it passed, the content summary. */
export interface StructurePart {
  structureOk: boolean;
  structureProblems: string[];
  liveKeys: bigint;
  objectsPerResource: Record<string, number>;
}

/** etcd's HashKV at the snapshot's revision. */
export interface HashPart {
  revision: bigint;
  compactRevision: bigint;
  hashKV: number;
}

/** `all`: both parts one after the other (small snapshots: a second thread costs more than it saves). */
export type InspectionPart = 'structure' | 'hash' | 'all';

function structureOf(db: EtcdDb, onChecked?: () => void): StructurePart {
  const structure = db.verifyStructure();
  const problems = structure.problems.map((p) =>
    p.page === undefined ? p.problem : `page ${p.page}: ${p.problem}`,
  );
  if (!structure.ok) {
    return { structureOk: false, structureProblems: problems, liveKeys: 0n, objectsPerResource: {} };
  }
  onChecked?.();
  const map = new ResourceMap();
  const counts: Record<string, number> = {};
  const live = db.mvcc.forEachLiveKey(db.mvcc.resolveRevision(undefined), (key) => {
    const p = map.parse(key.toString('latin1'));
    let name: string;
    if (p.notObject) name = '(other)';
    else if (p.resource)
      name = p.resource.group ? `${p.resource.resource}.${p.resource.group}` : p.resource.resource;
    else if (p.group) name = `${p.resourceName}.${p.group}`;
    else name = p.resourceName ?? '(other)';
    counts[name] = (counts[name] ?? 0) + 1;
  });
  const sorted: Record<string, number> = {};
  for (const k of Object.keys(counts).sort()) sorted[k] = counts[k]!;
  return {
    structureOk: true,
    structureProblems: problems,
    liveKeys: BigInt(live),
    objectsPerResource: sorted,
  };
}

function hashOf(db: EtcdDb, onRevision?: (revision: bigint) => void): HashPart {
  if (onRevision) onRevision(db.mvcc.resolveRevision(undefined));
  // In a sparse spool the values' inner pages are checksummed already: a CRC helper thread has little to do.
  const holes = db.bolt.file.holes;
  const h = db.hashKV(0n, holes ? { parallel: keptBytes(holes, db.bolt.file.size) >= 64 << 20 } : {});
  return {
    // etcd's store starts at revision 1 (an empty etcd reports header.revision 1); a snapshot with no
    // key revisions yet reads 0 from the key bucket.
    revision: h.revision < 1n ? 1n : h.revision,
    compactRevision: h.compactRevision,
    hashKV: h.hash,
  };
}

function withDb<T>(path: string, holes: PageHoles | undefined, fn: (db: EtcdDb) => T): T {
  const db = EtcdDb.open(path, holes ? { holes } : {});
  try {
    return fn(db);
  } finally {
    db.bolt.close();
  }
}

/**
 * One part of the inspection of a plain snapshot file (see the module comment). `onResult` hears the
 * result before the file is closed (a worker replies first; closing the last descriptor of an unlinked
 * spool frees its pages, which takes a while for a large db).
 */
export function inspectPart(
  path: string,
  part: InspectionPart,
  onRevision?: (revision: bigint) => void,
  onResult?: (result: StructurePart | HashPart | SnapshotInspection) => void,
  holes?: PageHoles,
): StructurePart | HashPart | SnapshotInspection {
  return withDb(path, holes, (db) => {
    const result =
      part === 'structure'
        ? structureOf(db)
        : part === 'hash'
          ? hashOf(db, onRevision)
          : inspectDb(db, onRevision);
    onResult?.(result);
    return result;
  });
}

function inspectDb(db: EtcdDb, onRevision?: (revision: bigint) => void): SnapshotInspection {
  const structure = structureOf(db, () => onRevision?.(db.mvcc.resolveRevision(undefined)));
  if (!structure.structureOk) return combineInspection(structure, undefined);
  return combineInspection(structure, hashOf(db));
}

/** The inspection from its parts; `hash` is ignored (and may be missing) when the structure check failed. */
export function combineInspection(structure: StructurePart, hash: HashPart | undefined): SnapshotInspection {
  if (!structure.structureOk || !hash) {
    return {
      revision: 0n,
      compactRevision: -1n,
      liveKeys: 0n,
      hashKV: 0,
      structureOk: false,
      structureProblems: structure.structureProblems,
      objectsPerResource: {},
    };
  }
  return {
    revision: hash.revision,
    compactRevision: hash.compactRevision,
    liveKeys: structure.liveKeys,
    hashKV: hash.hashKV,
    structureOk: true,
    structureProblems: structure.structureProblems,
    objectsPerResource: structure.objectsPerResource,
  };
}

/**
 * Inspects a plain snapshot file on this thread. `onRevision` hears the revision as soon as the structure
 * check passed, before the (longer) HashKV and content summary, so a caller can ask the member for its
 * HashKV meanwhile.
 */
export function inspectSnapshotFile(
  path: string,
  onRevision?: (revision: bigint) => void,
  holes?: PageHoles,
): SnapshotInspection {
  return withDb(path, holes, (db) => inspectDb(db, onRevision));
}
