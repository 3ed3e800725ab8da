/** An etcd backend database file opened read-only: bbolt + etcd's schema + the MVCC view. */
import {
  BoltDb,
  checkStructure,
  freelistIds,
  PageFlag,
  PGID_NO_FREELIST,
  type BoltOpenOptions,
  type StructureReport,
} from '../bbolt/index.js';
import { hashKV, type HashKVOptions, type HashKVResult } from './hashkv.js';
import { readLeases, type Lease } from './lease.js';
import { readEtcdMeta, type EtcdMeta } from './meta.js';
import { readMembers, readRemovedMembers, type Member } from './members.js';
import { MvccView } from './mvcc.js';
import type { RangeCrcOptions } from './crc-ranges.js';
import { startHashStatus, type HashStatus } from './status.js';

export interface DbSummary {
  pageSize: number;
  /** meta.pgid × pageSize (etcdutl's totalSize). */
  totalSize: bigint;
  txid: bigint;
  /** Which meta page is current. */
  metaPage: 0 | 1;
  meta: EtcdMeta;
  compactRevision: bigint;
  currentRevision: bigint;
  /** Storage version (meta/storageVersion, 3.6+) — what etcdutl prints as `version`. */
  version: string | undefined;
  members: Member[];
  removedMembers: bigint[];
  buckets: string[];
}

export interface DbStatus extends HashStatus {
  summary: DbSummary;
  /** Bytes of pages in use (reachable) and free (in the freelist or unreachable), from a structure walk. */
  bytesInUse: bigint;
  bytesFree: bigint;
  structure: StructureReport;
}

export class EtcdDb {
  private metaCache: EtcdMeta | undefined;
  private view: MvccView | undefined;

  constructor(readonly bolt: BoltDb) {}

  static open(path: string, options?: BoltOpenOptions): EtcdDb {
    return new EtcdDb(BoltDb.open(path, options));
  }

  get path(): string {
    return this.bolt.file.path;
  }

  meta(): EtcdMeta {
    return (this.metaCache ??= readEtcdMeta(this.bolt));
  }

  /** The MVCC view (revision rules, range, liveAt, history). */
  get mvcc(): MvccView {
    return (this.view ??= new MvccView(this.bolt, this.meta()));
  }

  members(): Member[] {
    return readMembers(this.bolt);
  }

  leases(): Lease[] {
    return readLeases(this.bolt);
  }

  bucketNames(): string[] {
    const out: string[] = [];
    for (const e of this.bolt.root().entries()) out.push(e.key.toString('latin1'));
    return out;
  }

  summary(): DbSummary {
    const m = this.bolt.meta;
    const meta = this.meta();
    return {
      pageSize: this.bolt.pageSize,
      totalSize: this.bolt.dataSize,
      txid: m.txid,
      metaPage: m.page,
      meta,
      compactRevision: this.mvcc.compactRevision,
      currentRevision: this.mvcc.currentRevision,
      version: meta.storageVersion,
      members: this.members(),
      removedMembers: readRemovedMembers(this.bolt),
      buckets: this.bucketNames(),
    };
  }

  /** Full structural check of the bbolt file (every page reached once, ids, order, loops, overflow). */
  verifyStructure(): StructureReport {
    return checkStructure(this.bolt);
  }

  /** Free pages listed in a persisted freelist, or undefined when etcd did not persist one. */
  freelistPages(): number | undefined {
    if (this.bolt.meta.freelistPgid === PGID_NO_FREELIST) return undefined;
    return freelistIds(this.bolt.page(Number(this.bolt.meta.freelistPgid), [PageFlag.freelist])).length;
  }

  /**
   * etcdutl snapshot status (3.5 semantics) plus liveKeys, summary and page usage. Like etcdutl, it runs
   * the structural check too; callers decide whether problems are fatal (`structure.ok`).
   */
  status(options: RangeCrcOptions = {}): DbStatus {
    // The walk queues the large values for a helper thread; the structural check runs meanwhile.
    const pending = startHashStatus(this.bolt, options);
    let structure: StructureReport;
    try {
      structure = this.verifyStructure();
    } catch (e) {
      pending.abort();
      throw e;
    }
    const hs = pending.finish();
    const ps = BigInt(this.bolt.pageSize);
    return {
      ...hs,
      summary: this.summary(),
      bytesInUse: BigInt(structure.pagesInUse) * ps,
      bytesFree: BigInt(structure.pagesFree) * ps,
      structure,
    };
  }

  /** etcd's HashKV at a revision (0 = current). */
  hashKV(revision: bigint = 0n, options?: HashKVOptions): HashKVResult {
    return hashKV(this.mvcc, revision, options);
  }

  close(): void {
    this.bolt.close();
  }
}
