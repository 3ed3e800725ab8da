/** The `meta`, `cluster` and `auth` buckets (formats.md §2.3). */
import type { BoltDb } from '../bbolt/index.js';
import { parseRevisionValue } from './revision.js';
import { AuthKeys, Buckets, ClusterKeys, MetaKeys } from './schema.js';

export interface EtcdMeta {
  consistentIndex?: bigint;
  term?: bigint;
  scheduledCompactRevision?: bigint;
  finishedCompactRevision?: bigint;
  /** meta/confState as stored (JSON of raftpb.ConfState); ids inside are uint64 — see `confStateVoters`. */
  confState?: string;
  /** Voter ids from confState, exact. */
  confStateVoters?: bigint[];
  storageVersion?: string;
  clusterVersion?: string;
  downgrade?: string;
  authEnabled?: boolean;
  authRevision?: bigint;
}

function u64be(db: BoltDb, v: Buffer, what: string): bigint {
  if (v.length !== 8) throw db.corrupt(`${what} is ${v.length} bytes, expected 8`, `bucket meta`);
  return v.readBigUInt64BE(0);
}

/** Reads the schema's small buckets. Missing keys stay undefined (older etcd versions lack some). */
export function readEtcdMeta(db: BoltDb): EtcdMeta {
  const out: EtcdMeta = {};
  const meta = db.bucket(Buckets.meta);
  if (meta) {
    const ci = meta.get(MetaKeys.consistentIndex);
    if (ci) out.consistentIndex = u64be(db, ci, MetaKeys.consistentIndex);
    const term = meta.get(MetaKeys.term);
    if (term) out.term = u64be(db, term, MetaKeys.term);
    for (const [k, field] of [
      [MetaKeys.scheduledCompactRev, 'scheduledCompactRevision'],
      [MetaKeys.finishedCompactRev, 'finishedCompactRevision'],
    ] as const) {
      const v = meta.get(k);
      if (!v) continue;
      const r = parseRevisionValue(v);
      if (typeof r === 'string') throw db.corrupt(`meta/${k}: ${r}`, 'bucket meta');
      out[field] = r.main;
    }
    const cs = meta.get(MetaKeys.confState);
    if (cs) {
      out.confState = cs.toString('utf8');
      const m = /"voters"\s*:\s*\[([^\]]*)\]/.exec(out.confState);
      if (m) out.confStateVoters = (m[1]!.match(/\d+/g) ?? []).map((d) => BigInt(d));
    }
    const sv = meta.get(MetaKeys.storageVersion);
    if (sv) out.storageVersion = sv.toString('utf8');
  }
  const cluster = db.bucket(Buckets.cluster);
  if (cluster) {
    const cv = cluster.get(ClusterKeys.clusterVersion);
    if (cv) out.clusterVersion = cv.toString('utf8');
    const dg = cluster.get(ClusterKeys.downgrade);
    if (dg) out.downgrade = dg.toString('utf8');
  }
  const auth = db.bucket(Buckets.auth);
  if (auth) {
    const en = auth.get(AuthKeys.authEnabled);
    if (en) out.authEnabled = en.length === 1 && en[0] === 1;
    const ar = auth.get(AuthKeys.authRevision);
    if (ar && ar.length === 8) out.authRevision = ar.readBigUInt64BE(0);
  }
  return out;
}
