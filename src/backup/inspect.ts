/**
 * What Lifeboat records about a snapshot's contents, computed offline by the snapshot reader from a
 * spooled plain copy: revision, compact revision, live keys, etcd's HashKV at the revision, the full bbolt
 * structure check, and the number of live objects per Kubernetes resource.
 */
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

/**
 * Inspects a plain snapshot file. `onRevision` hears the revision as soon as the structure check passed,
 * before the (longer) HashKV and content summary, so a caller can ask the member for its HashKV meanwhile.
 */
export function inspectSnapshotFile(
  path: string,
  onRevision?: (revision: bigint) => void,
): SnapshotInspection {
  const db = EtcdDb.open(path);
  try {
    const structure = db.verifyStructure();
    const problems = structure.problems.map((p) =>
      p.page === undefined ? p.problem : `page ${p.page}: ${p.problem}`,
    );
    if (!structure.ok) {
      return {
        revision: 0n,
        compactRevision: -1n,
        liveKeys: 0n,
        hashKV: 0,
        structureOk: false,
        structureProblems: problems,
        objectsPerResource: {},
      };
    }
    onRevision?.(db.mvcc.resolveRevision(undefined));
    const h = db.hashKV(0n);
    const map = new ResourceMap();
    const counts: Record<string, number> = {};
    let live = 0n;
    for (const kv of db.mvcc.liveAt(undefined, { keysOnly: true, order: 'revision' })) {
      live++;
      const p = map.parse(kv.key.toString('latin1'));
      let name: string;
      if (p.notObject) name = '(other)';
      else if (p.resource)
        name = p.resource.group ? `${p.resource.resource}.${p.resource.group}` : p.resource.resource;
      else if (p.group) name = `${p.resourceName}.${p.group}`;
      else name = p.resourceName ?? '(other)';
      counts[name] = (counts[name] ?? 0) + 1;
    }
    const sorted: Record<string, number> = {};
    for (const k of Object.keys(counts).sort()) sorted[k] = counts[k]!;
    return {
      // etcd's store starts at revision 1 (an empty etcd reports header.revision 1); a snapshot with no
      // key revisions yet reads 0 from the key bucket.
      revision: h.revision < 1n ? 1n : h.revision,
      compactRevision: h.compactRevision,
      liveKeys: live,
      hashKV: h.hash,
      structureOk: true,
      structureProblems: problems,
      objectsPerResource: sorted,
    };
  } finally {
    db.bolt.close();
  }
}
