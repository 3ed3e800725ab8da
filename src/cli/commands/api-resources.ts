/** `lifeboat api-resources --from FILE`: every resource stored in a backup, with counts, versions and encodings. */
import type { Command } from 'commander';
import { peekTypeMeta, storageEncoding } from '../../kube/decode.js';
import { encryptionPrefix } from '../../kube/encryption.js';
import { KubeStore } from '../../kube/store.js';
import { openSnapshot } from '../../snapshot/index.js';
import { stringifyJson, lifeboatDoc } from '../../util/json.js';
import { parseRevision } from './get.js';
import { out } from './output.js';

interface Row {
  name: string;
  shortNames: string[];
  group: string;
  namespaced: boolean;
  kind: string;
  objects: number;
  storedVersions: Set<string>;
  encodings: Set<string>;
}

export function define(cmd: Command): void {
  cmd
    .requiredOption('--from <file>', 'snapshot or database file')
    .option('--rev <revision>', 'read at this etcd revision (default: the newest in the file)')
    .option('--etcd-prefix <prefix>', "kube-apiserver's --etcd-prefix", '/registry')
    .option('-o, --output <format>', 'table or json', 'table')
    .action(async (o: { from: string; rev?: string; etcdPrefix: string; output: string }) => {
      const snap = await openSnapshot(o.from);
      try {
        const store = new KubeStore(snap.db, { etcdPrefix: o.etcdPrefix, revision: parseRevision(o.rev) });
        const rows = new Map<string, Row>();
        const prefix = Buffer.from(`${store.resources.prefix}/`);
        for (const kv of snap.db.mvcc.liveAt(store.revision, { key: prefix, rangeEnd: Buffer.from([0]) })) {
          if (!kv.key.subarray(0, prefix.length).equals(prefix)) continue;
          const id = store.identify(kv);
          const res =
            id.resource ?? store.resources.resolve(store.resources.parse(id.key).resourceName ?? '')[0];
          const parsed = store.resources.parse(id.key);
          const name = res
            ? res.resource
            : `${parsed.resourceName ?? '?'}${parsed.group ? `.${parsed.group}` : ''}`;
          const group = res?.group ?? parsed.group ?? '';
          const k = `${name}.${group}`;
          let row = rows.get(k);
          if (!row) {
            row = {
              name,
              shortNames: res?.shortNames ?? [],
              group,
              namespaced: res?.namespaced ?? parsed.namespace !== undefined,
              kind: res?.kind ?? '',
              objects: 0,
              storedVersions: new Set(),
              encodings: new Set(),
            };
            rows.set(k, row);
          }
          row.objects++;
          const value = kv.value ?? Buffer.alloc(0);
          const enc = encryptionPrefix(value);
          if (enc) {
            row.encodings.add(`encrypted(${enc.provider}/${enc.version})`);
            continue;
          }
          row.encodings.add(storageEncoding(value));
          try {
            const tm = peekTypeMeta(value, id.key);
            if (tm) row.storedVersions.add(tm.apiVersion);
          } catch {
            row.encodings.add('malformed');
          }
        }
        const list = [...rows.values()].sort((a, b) => (a.group + a.name < b.group + b.name ? -1 : 1));
        if (o.output === 'json') {
          const items = list.map((r) => ({
            name: r.name,
            group: r.group,
            kind: r.kind,
            namespaced: r.namespaced,
            shortNames: r.shortNames,
            objects: r.objects,
            storedVersions: [...r.storedVersions].sort(),
            encodings: [...r.encodings].sort(),
          }));
          await out(
            stringifyJson(lifeboatDoc('APIResourceList', { revision: store.revision, resources: items })) +
              '\n',
          );
          return;
        }
        const header = [
          'NAME',
          'SHORTNAMES',
          'STORED VERSIONS',
          'NAMESPACED',
          'KIND',
          'OBJECTS',
          'ENCODINGS',
        ];
        const lines = list.map((r) => [
          r.group ? `${r.name}.${r.group}` : r.name,
          r.shortNames.join(','),
          [...r.storedVersions].sort().join(','),
          String(r.namespaced),
          r.kind,
          String(r.objects),
          [...r.encodings].sort().join(','),
        ]);
        const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
        const fmt = (l: string[]): string =>
          l
            .map((c, i) => c.padEnd(widths[i]! + 3))
            .join('')
            .trimEnd();
        await out([fmt(header), ...lines.map(fmt)].join('\n') + '\n');
      } finally {
        snap.close();
      }
    });
}
