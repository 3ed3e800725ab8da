/** `lifeboat diff`: Kubernetes objects added, removed and changed between two backups or two revisions. */
import type { Command } from 'commander';
import { EncryptionConfig } from '../../kube/encryption.js';
import { withoutChurn, yamlDiff } from '../../kube/object-diff.js';
import type { JsonObject } from '../../kube/render-proto.js';
import type { ResourceInfo } from '../../kube/resources.js';
import { KubeStore } from '../../kube/store.js';
import { openSnapshot, type OpenedSnapshot } from '../../snapshot/index.js';
import { UsageError } from '../../util/errors.js';
import { present } from '../../kube/present.js';
import { parseRevision } from './get.js';
import { out } from './output.js';

interface DiffOptions {
  from: string;
  fromRev?: string;
  to?: string;
  toRev?: string;
  namespace?: string;
  allFields?: boolean;
  showSecrets?: boolean;
  encryptionConfig?: string;
  etcdPrefix: string;
}

interface Side {
  objects: Map<string, { label: string; modRevision: bigint; object?: JsonObject; problem?: string }>;
}

function collect(store: KubeStore, resources: ResourceInfo[], ns: string | undefined, o: DiffOptions): Side {
  const objects: Side['objects'] = new Map();
  for (const r of resources) {
    for (const kv of store.objects(r, r.namespaced ? ns : undefined)) {
      const v = store.view(kv, r);
      const label = `${r.resource}${r.group ? `.${r.group}` : ''}/${v.namespace ? `${v.namespace}/` : ''}${v.name}`;
      const entry: { label: string; modRevision: bigint; object?: JsonObject; problem?: string } = {
        label,
        modRevision: v.modRevision,
      };
      if (v.object) {
        const shown = present(v.object, {
          showManagedFields: true,
          ...(o.showSecrets ? { showSecrets: true } : {}),
        });
        entry.object = o.allFields ? shown : withoutChurn(shown);
      } else entry.problem = v.problem ?? 'not decodable';
      objects.set(v.key, entry);
    }
  }
  return { objects };
}

export function define(cmd: Command): void {
  cmd
    .argument('[resource]', 'only this resource (kubectl names); default: every resource')
    .requiredOption('--from <file>', 'the older snapshot')
    .option('--from-rev <revision>', 'revision of --from (default: its newest)')
    .option('--to <file>', 'the newer snapshot (default: --from again)')
    .option('--to-rev <revision>', 'revision of --to (default: its newest)')
    .option('-n, --namespace <ns>', 'only this namespace')
    .option(
      '--all-fields',
      'also compare fields that change on every write (resourceVersion, managedFields times)',
    )
    .option('--show-secrets', 'print Secret values instead of REDACTED(sha256:…)')
    .option('--encryption-config <file>', "kube-apiserver's EncryptionConfiguration")
    .option('--etcd-prefix <prefix>', "kube-apiserver's --etcd-prefix", '/registry')
    .action(async (resource: string | undefined, o: DiffOptions) => {
      if (!o.to && o.toRev === undefined && o.fromRev === undefined) {
        throw new UsageError('give --to FILE, or --from-rev/--to-rev to compare two revisions of --from');
      }
      const encryption = o.encryptionConfig ? EncryptionConfig.load(o.encryptionConfig) : undefined;
      const opened: OpenedSnapshot[] = [];
      try {
        const a = await openSnapshot(o.from);
        opened.push(a);
        const b = o.to ? await openSnapshot(o.to) : a;
        if (b !== a) opened.push(b);
        const common = { etcdPrefix: o.etcdPrefix, ...(encryption ? { encryption } : {}) };
        const sa = new KubeStore(a.db, { ...common, revision: parseRevision(o.fromRev) });
        const sb = new KubeStore(b.db, { ...common, revision: parseRevision(o.toRev) });
        const pick = (s: KubeStore): ResourceInfo[] => {
          if (!resource) return s.resources.resources().filter((r) => !r.internal);
          return [s.resources.resolveOne(resource, o.from)];
        };
        const before = collect(sa, pick(sa), o.namespace, o);
        const after = collect(sb, pick(sb), o.namespace, o);
        const lines: string[] = [];
        const patches: string[] = [];
        let added = 0;
        let removed = 0;
        let changed = 0;
        for (const [key, x] of before.objects) {
          const y = after.objects.get(key);
          if (!y) {
            removed++;
            lines.push(`removed  ${x.label}  (revision ${x.modRevision})`);
            continue;
          }
          if (x.modRevision === y.modRevision) continue;
          const p = yamlDiff(x.label, x.object, y.object);
          if (p) {
            changed++;
            lines.push(`changed  ${x.label}  (revision ${x.modRevision} → ${y.modRevision})`);
            patches.push(p);
          }
        }
        for (const [key, y] of after.objects) {
          if (before.objects.has(key)) continue;
          added++;
          lines.push(`added    ${y.label}  (revision ${y.modRevision})`);
        }
        process.stderr.write(
          `lifeboat: ${o.from}@${sa.revision} → ${o.to ?? o.from}@${sb.revision}: ${added} added, ${removed} removed, ${changed} changed\n`,
        );
        await out(lines.join('\n') + (lines.length ? '\n' : ''));
        for (const p of patches) await out(p);
      } finally {
        for (const s of opened) s.close();
      }
    });
}
