/**
 * Lifeboat's offline etcd database reader — the library API other domains build on.
 *
 * Opening (any input: etcdctl snapshot, raw member db, data dir, zip, gzip — detected by content):
 *
 *   import { openSnapshot } from '../snapshot/index.js';
 *   const snap = await openSnapshot(path);          // { db: EtcdDb, format, input, warnings, close() }
 *   try { ... } finally { snap.close(); }           // removes temp files of decompressed inputs
 *
 *   Or, for a file known to be a bare bbolt db: `const db = EtcdDb.open(path)` (synchronous), `db.close()`.
 *
 * EtcdDb (all synchronous, positional reads, bounded page cache; never loads the whole file):
 *   db.summary()           → DbSummary: pageSize, totalSize, txid, meta (consistent index, term, compaction
 *                            revisions, confState, storageVersion, clusterVersion), compactRevision,
 *                            currentRevision, version, members (ids bigint + hex), buckets
 *   db.status()            → DbStatus: etcdutl 3.5 `snapshot status` hash/revision/totalKey/totalSize, liveKeys
 *                            (3.6's totalKey), bytesInUse/bytesFree, structure report
 *   db.verifyStructure()   → StructureReport { ok, problems: [{page?, problem}], ... }
 *   db.hashKV(rev = 0n)    → { hash, revision, compactRevision } — etcd's HashKV algorithm at a revision
 *   db.leases(), db.members()
 *   db.mvcc                → MvccView:
 *     .compactRevision, .currentRevision (etcd's rules; see mvcc.ts)
 *     .resolveRevision(rev)                         → rev (0 → current) or throws RevisionUnavailableError
 *     .range({ key, rangeEnd?, revision?, keysOnly?, countOnly?, limit? }) → { kvs, count, more, ... }
 *     .rangeAt(rev, key, rangeEnd?)                 → KeyValue[] (convenience)
 *     .liveAt(rev, { key?, rangeEnd?, keysOnly?, order?: 'key' | 'revision' }) → Iterable<KeyValue>
 *                                                     streaming; values read one at a time
 *     .history(key)                                 → { key, compactRevision, revisions: [...] }
 *   KeyValue = { key: Buffer, createRevision, modRevision, version, lease: bigint, value: Buffer | undefined }
 *
 * Errors: CorruptInputError (exit 3) for anything wrong in the file, naming file and page;
 * RevisionUnavailableError (a NotFoundError, exit 4) for compacted / future revisions, with etcd's wording.
 * All int64/uint64 values are bigint.
 */
export { EtcdDb, type DbStatus, type DbSummary } from './db.js';
export { MvccView, RevisionUnavailableError, inRange, prefixRangeEnd } from './mvcc.js';
export type { HistoryEntry, KeyHistory, LiveOptions, RangeOptions, RangeResult } from './mvcc.js';
export { decodeKeyValue, encodeKeyValue, type KeyValue } from './kv.js';
export type { EtcdMeta } from './meta.js';
export type { Member } from './members.js';
export { decodeLease, type Lease } from './lease.js';
export { hashKV, type HashKVOptions, type HashKVResult } from './hashkv.js';
export type { HashStatus } from './status.js';
export { crc32c, crc32cCombine, crc32cImplementation, crc32cPure } from './crc32c.js';
export { encodeRevisionKey, parseRevisionKey, type Revision, type RevisionKey } from './revision.js';
export { Buckets, MetaKeys } from './schema.js';
