/**
 * The `lease` bucket (formats.md §2.4): key = lease id int64 BE, value = leasepb.Lease{ID = 1, TTL = 2,
 * RemainingTTL = 3} (int64 varints).
 */
import { entryValue, isBucketEntry, type BoltDb } from '../bbolt/index.js';
import { readSmallVarint, readVarint, skipField, toInt64, WireType } from './proto-wire.js';
import { Buckets } from './schema.js';

export interface Lease {
  id: bigint;
  ttl: bigint;
  remainingTtl: bigint;
}

export function decodeLease(v: Buffer): Lease {
  const l: Lease = { id: 0n, ttl: 0n, remainingTtl: 0n };
  let pos = 0;
  while (pos < v.length) {
    const [tag, p] = readSmallVarint(v, pos);
    pos = p;
    const f = tag >>> 3;
    if ((tag & 7) === WireType.varint && f >= 1 && f <= 3) {
      const [x, q] = readVarint(v, pos);
      pos = q;
      if (f === 1) l.id = toInt64(x);
      else if (f === 2) l.ttl = toInt64(x);
      else l.remainingTtl = toInt64(x);
    } else pos = skipField(v, pos, tag & 7);
  }
  return l;
}

export function readLeases(db: BoltDb): Lease[] {
  const b = db.bucket(Buckets.lease);
  if (!b) return [];
  const out: Lease[] = [];
  for (const e of b.entries()) {
    if (isBucketEntry(e)) continue;
    if (e.key.length !== 8)
      throw db.corrupt(`lease key is ${e.key.length} bytes, expected 8`, `bucket lease`);
    let l: Lease;
    try {
      l = decodeLease(entryValue(e));
    } catch (err) {
      throw db.corrupt(`lease ${e.key.readBigInt64BE(0)}: ${(err as Error).message}`, 'bucket lease');
    }
    out.push({ ...l, id: e.key.readBigInt64BE(0) });
  }
  return out;
}
