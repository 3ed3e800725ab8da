/** `lifeboat history RESOURCE NAME --from FILE`: every retained revision of one object, who changed it, and how. */
import type { Command } from 'commander';
import { EncryptionConfig } from '../../kube/encryption.js';
import { withoutChurn, yamlDiff } from '../../kube/object-diff.js';
import type { JsonObject, JsonValue } from '../../kube/render-proto.js';
import { KubeStore } from '../../kube/store.js';
import { openSnapshot } from '../../snapshot/index.js';
import { present } from '../../kube/present.js';
import { out } from './output.js';

/** The managedFields entry written last: manager and operation. */
function lastWriter(o: JsonObject | undefined): string {
  const meta = o?.metadata;
  const mf = meta && typeof meta === 'object' && !Array.isArray(meta) ? meta.managedFields : undefined;
  if (!Array.isArray(mf) || mf.length === 0) return 'unknown';
  const entries = mf.filter((e): e is JsonObject => !!e && typeof e === 'object' && !Array.isArray(e));
  entries.sort((a, b) => String(a.time ?? '').localeCompare(String(b.time ?? '')));
  const e = entries.at(-1)!;
  return `${String(e.manager ?? '?')} (${String(e.operation ?? '?')}${e.subresource ? ` ${String(e.subresource)}` : ''}${e.time ? ` at ${String(e.time)}` : ''})`;
}

export function define(cmd: Command): void {
  cmd
    .argument('<resource>', 'resource as kubectl accepts it')
    .argument('<name>', 'object name')
    .requiredOption('--from <file>', 'snapshot or database file')
    .option('-n, --namespace <ns>', 'namespace (default: default)')
    .option('--all-fields', 'also diff fields that change on every write')
    .option('--show-secrets', 'print Secret values instead of REDACTED(sha256:…)')
    .option('--encryption-config <file>', "kube-apiserver's EncryptionConfiguration")
    .option('--etcd-prefix <prefix>', "kube-apiserver's --etcd-prefix", '/registry')
    .action(
      async (
        resource: string,
        name: string,
        o: {
          from: string;
          namespace?: string;
          allFields?: boolean;
          showSecrets?: boolean;
          encryptionConfig?: string;
          etcdPrefix: string;
        },
      ) => {
        const snap = await openSnapshot(o.from);
        try {
          const encryption = o.encryptionConfig ? EncryptionConfig.load(o.encryptionConfig) : undefined;
          const store = new KubeStore(snap.db, {
            etcdPrefix: o.etcdPrefix,
            ...(encryption ? { encryption } : {}),
          });
          const r = store.resources.resolveOne(resource, o.from);
          const key = store.resources.key(r, name, r.namespaced ? (o.namespace ?? 'default') : undefined);
          const h = snap.db.mvcc.history(Buffer.from(key));
          process.stderr.write(
            `lifeboat: ${key}: ${h.revisions.length} retained record(s); revisions before ${h.compactRevision} were compacted away\n`,
          );
          let prev: JsonObject | undefined;
          for (const e of h.revisions) {
            if (e.type === 'delete') {
              await out(`--- revision ${e.main}: deleted\n`);
              prev = undefined;
              continue;
            }
            const v = store.view(e.kv, r);
            if (!v.object) {
              await out(`--- revision ${e.main}: ${v.problem ?? 'not decodable'}\n`);
              continue;
            }
            const shown = present(v.object, {
              showManagedFields: true,
              ...(o.showSecrets ? { showSecrets: true } : {}),
            });
            const cur = o.allFields ? shown : withoutChurn(shown);
            await out(
              `--- revision ${e.main} (version ${e.kv.version}): ${prev ? 'changed' : 'created'} by ${lastWriter(v.object)}\n`,
            );
            const p = yamlDiff(`${r.resource}/${name}`, prev, cur as { [k: string]: JsonValue });
            if (p) await out(p);
            prev = cur;
          }
        } finally {
          snap.close();
        }
      },
    );
}
