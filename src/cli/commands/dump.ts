/**
 * `lifeboat dump --from FILE`: every Kubernetes object of a backup file as JSON, one per line (or one List),
 * for jq and grep: the bulk path (live-values.ts reads, decode-many.ts decodes and prints).
 */
import type { Command } from 'commander';
import type { ShowOptions } from '../../kube/decode.js';
import { decodeManyJson, type StoredObject } from '../../kube/decode-many.js';
import { decryptValue, EncryptionConfig } from '../../kube/encryption.js';
import { parseLosslessJson } from '../../kube/json-value.js';
import { liveValues } from '../../kube/live-values.js';
import { unknownFieldsNote, withUnknownFields } from '../../kube/present.js';
import type { JsonObject } from '../../kube/render-proto.js';
import { UsageError } from '../../util/errors.js';
import { stringifyJson } from '../../util/json.js';
import { addObjectOptions, openWithEncryption, parseRevision } from './get.js';
import { BufferedOut } from './output.js';

interface DumpOptions extends ShowOptions {
  from: string;
  output: string;
  rev?: string;
  encryptionConfig?: string;
  etcdPrefix: string;
  prefix?: string;
}

const FORMATS = ['ndjson', 'json'];

/** Whether a stored value may carry a `k8s:enc:` prefix (cheap test before the exact one). */
function mayBeEncrypted(v: Uint8Array): boolean {
  return v.length > 8 && v[0] === 0x6b && v[3] === 0x3a;
}

/**
 * On a terminal (stderr a TTY, stdout not: the objects go to a file or a pipe), a progress line redrawn at most
 * every 200 ms; -1 clears it.
 */
function progressLine(read: { total?: number }): ((done: number) => void) | undefined {
  if (!process.stderr.isTTY || process.stdout.isTTY) return undefined;
  let last = Date.now();
  return (done) => {
    if (done < 0) {
      process.stderr.write('\r\x1b[K');
      return;
    }
    const now = Date.now();
    if (now - last < 200) return;
    last = now;
    const total = read.total ?? 0;
    const pct = total > 0 ? ` (${Math.floor((done * 100) / total)}%)` : '';
    process.stderr.write(`\rlifeboat: ${done} of ${total} objects${pct}\x1b[K`);
  };
}

export function define(cmd: Command): void {
  cmd
    .requiredOption('--from <file>', 'snapshot or database file (any format the snapshot reader accepts)')
    .option('-o, --output <format>', 'ndjson (one object per line) or json (one List)', 'ndjson')
    .option('--rev <revision>', 'read at this etcd revision (default: the newest in the file)')
    .option('--prefix <key-prefix>', 'only keys under this prefix (default: the etcd prefix)');
  addObjectOptions(cmd).action(async (o: DumpOptions) => {
    if (!FORMATS.includes(o.output))
      throw new UsageError(`-o: expected one of ${FORMATS.join(', ')}, got '${o.output}'`);
    const revision = parseRevision(o.rev);
    const prefix = o.prefix ?? `${o.etcdPrefix.replace(/\/+$/, '')}/`;
    const show: ShowOptions = { showManagedFields: !!o.showManagedFields, showSecrets: !!o.showSecrets };
    const { snap, encryption } = await openWithEncryption(o.from, o.encryptionConfig);
    try {
      const config = encryption ?? EncryptionConfig.empty();
      const rev = snap.db.mvcc.resolveRevision(revision);
      let skipped = 0;
      const warn = (key: string, why: string): void => {
        skipped++;
        process.stderr.write(`lifeboat: warning: ${key}: ${why}\n`);
      };
      const read: { helped: number; total?: number } = { helped: 0 };
      const progress = progressLine(read);
      // Encrypted values are decrypted on the way in; one that cannot be is reported, not fatal.
      const stored = function* (): IterableIterator<StoredObject> {
        for (const s of liveValues(snap.db, rev, Buffer.from(prefix), { stats: read })) {
          if (!mayBeEncrypted(s.value)) yield s;
          else {
            const d = decryptValue(
              Buffer.from(s.value.buffer, s.value.byteOffset, s.value.length),
              s.key,
              config,
            );
            if (d.ok) yield { ...s, value: d.plaintext };
            else warn(s.key, d.reason);
          }
        }
      };
      const w = new BufferedOut();
      const list = o.output === 'json';
      if (list) await w.write('{"apiVersion":"v1","items":[');
      let n = 0;
      for (const d of decodeManyJson(stored(), { show })) {
        if (d.json === undefined) {
          warn(d.key, d.problem ?? 'not decoded');
          continue;
        }
        let json = d.json;
        if (d.unknownFields.length > 0) {
          // Rare: the text is read back to add the annotation that keeps them (as `get` does).
          process.stderr.write(`lifeboat: warning: ${unknownFieldsNote(d.key, d.unknownFields)}\n`);
          json = stringifyJson(withUnknownFields(parseLosslessJson(json) as JsonObject, d.unknownFields), 0);
        }
        const sep = list ? (n === 0 ? '' : ',') : '';
        const p = w.write(list ? sep + json : json + '\n');
        if (p) await p;
        n++;
        if ((n & 255) === 0) progress?.(n + skipped);
      }
      progress?.(-1);
      if (list) await w.write(`],"kind":"List","metadata":{"resourceVersion":""}}\n`);
      await w.flush();
      process.stderr.write(
        `lifeboat: ${n} objects under ${prefix} at revision ${rev}${skipped > 0 ? `; ${skipped} could not be shown (warnings above)` : ''}\n`,
      );
    } finally {
      snap.close();
    }
  });
}
