/**
 * The `members` and `members_removed` buckets (formats.md §2.4). Member ids come from the hex key, never
 * from the JSON `id` (a uint64 that JSON.parse would round).
 */
import { entryValue, isBucketEntry, type BoltDb } from '../bbolt/index.js';
import { Buckets } from './schema.js';

export interface Member {
  /** uint64 member id. */
  id: bigint;
  /** The id as etcd prints it (hex). */
  idHex: string;
  name?: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

function parseHexId(db: BoltDb, key: Buffer, bucket: string): bigint {
  const s = key.toString('latin1');
  if (!/^[0-9a-f]{1,16}$/.test(s))
    throw db.corrupt(`member key ${JSON.stringify(s)} is not a hex id`, `bucket ${bucket}`);
  return BigInt(`0x${s}`);
}

export function readMembers(db: BoltDb): Member[] {
  const b = db.bucket(Buckets.members);
  if (!b) return [];
  const out: Member[] = [];
  for (const e of b.entries()) {
    if (isBucketEntry(e)) continue;
    const id = parseHexId(db, e.key, Buckets.members);
    let j: { name?: unknown; peerURLs?: unknown; clientURLs?: unknown; isLearner?: unknown };
    try {
      // The id field is a uint64 number: quote it away before JSON.parse so nothing is rounded.
      j = JSON.parse(
        entryValue(e)
          .toString('utf8')
          .replace(/"id"\s*:\s*(\d+)/, '"id":"$1"'),
      ) as typeof j;
    } catch {
      throw db.corrupt(`member ${e.key.toString('latin1')}: value is not JSON`, `bucket ${Buckets.members}`);
    }
    const strs = (v: unknown) =>
      Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
    out.push({
      id,
      idHex: id.toString(16),
      ...(typeof j.name === 'string' && j.name ? { name: j.name } : {}),
      peerURLs: strs(j.peerURLs),
      clientURLs: strs(j.clientURLs),
      isLearner: j.isLearner === true,
    });
  }
  return out;
}

export function readRemovedMembers(db: BoltDb): bigint[] {
  const b = db.bucket(Buckets.membersRemoved);
  if (!b) return [];
  const out: bigint[] = [];
  for (const e of b.entries()) if (!isBucketEntry(e)) out.push(parseHexId(db, e.key, Buckets.membersRemoved));
  return out;
}
