/** Schema-level checks of the key bucket for `snapshot verify`: every revision key and KeyValue decodes. */
import { isBucketEntry } from '../bbolt/index.js';
import { CorruptInputError } from '../util/errors.js';
import type { EtcdDb } from './db.js';
import { decodeEntryKeyValue } from './kv.js';
import { parseRevisionKey } from './revision.js';
import { Buckets } from './schema.js';

export function entryKeyValueProblems(db: EtcdDb, max: number): { page?: number; problem: string }[] {
  const out: { page?: number; problem: string }[] = [];
  const b = db.bolt.bucket(Buckets.key);
  if (!b) return [{ problem: 'no key bucket: not an etcd database' }];
  let prevMain = -1n;
  try {
    for (const e of b.entries()) {
      if (out.length >= max) break;
      if (isBucketEntry(e)) {
        out.push({ page: e.page.pgid, problem: 'unexpected nested bucket in the key bucket' });
        continue;
      }
      const r = parseRevisionKey(e.key);
      if (typeof r === 'string') {
        out.push({ page: e.page.pgid, problem: `key bucket: ${r}` });
        continue;
      }
      if (r.main < prevMain) out.push({ page: e.page.pgid, problem: `revision ${r.main} after ${prevMain}` });
      prevMain = r.main;
      try {
        decodeEntryKeyValue(e, false);
      } catch (err) {
        out.push({
          page: e.page.pgid,
          problem: `revision ${r.main}_${r.sub}: value is not an mvccpb.KeyValue: ${(err as Error).message}`,
        });
      }
    }
  } catch (err) {
    if (err instanceof CorruptInputError)
      out.push({ problem: `${err.where ? `${err.where}: ` : ''}${err.problem}` });
    else throw err;
  }
  return out;
}
