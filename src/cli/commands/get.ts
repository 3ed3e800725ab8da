/** `lifeboat get RESOURCE [NAME...] --from FILE`: Kubernetes objects from a backup, the way kubectl shows them. */
import type { Command } from 'commander';
import { EncryptionConfig, encryptionFromRkeState } from '../../kube/encryption.js';
import {
  matchesSelector,
  nameOf,
  parseFieldSelector,
  parseSelector,
  renderDocument,
  renderTable,
  type OutputFormat,
  type TableInput,
} from '../../kube/present.js';
import { redactSecret } from '../../kube/redact.js';
import type { JsonObject, JsonValue } from '../../kube/render-proto.js';
import type { ResourceInfo } from '../../kube/resources.js';
import { KubeStore, type ObjectView } from '../../kube/store.js';
import { openSnapshot } from '../../snapshot/index.js';
import { NotFoundError, UsageError } from '../../util/errors.js';
import { out } from './output.js';

interface GetOptions {
  from: string;
  namespace?: string;
  allNamespaces?: boolean;
  selector?: string;
  fieldSelector?: string;
  output: string;
  rev?: string;
  showManagedFields?: boolean;
  showSecrets?: boolean;
  encryptionConfig?: string;
  etcdPrefix: string;
  deleted?: boolean;
}

const FORMATS: OutputFormat[] = ['json', 'yaml', 'name', 'wide', 'table'];

export function parseRevision(text: string | undefined): bigint {
  if (text === undefined) return 0n;
  if (!/^\d+$/.test(text)) throw new UsageError(`--rev: expected a revision number, got '${text}'`);
  return BigInt(text);
}

/** The object as printed: managedFields hidden unless asked, Secrets redacted unless asked. */
export function present(
  o: JsonObject,
  opts: { showManagedFields?: boolean; showSecrets?: boolean },
): JsonObject {
  let obj = o;
  const meta = obj.metadata;
  if (
    !opts.showManagedFields &&
    meta &&
    typeof meta === 'object' &&
    !Array.isArray(meta) &&
    'managedFields' in meta
  ) {
    const { managedFields: _drop, ...rest } = meta;
    obj = { ...obj, metadata: rest as { [k: string]: JsonValue } };
  }
  return opts.showSecrets ? obj : redactSecret(obj);
}

export function define(cmd: Command): void {
  cmd
    .argument(
      '<resource>',
      'resource as kubectl accepts it: plural, singular, short name, Kind, resource.group, or TYPE/NAME',
    )
    .argument('[names...]', 'object names')
    .requiredOption('--from <file>', 'snapshot or database file (any format the snapshot reader accepts)')
    .option('-n, --namespace <ns>', 'namespace (default: default)')
    .option('-A, --all-namespaces', 'objects of every namespace')
    .option('-l, --selector <selector>', 'label selector (=, ==, !=, in, notin, exists, !key)')
    .option('--field-selector <selector>', 'metadata.name / metadata.namespace with =, == or !=')
    .option('-o, --output <format>', 'json, yaml, name, wide or table', 'table')
    .option('--rev <revision>', 'read at this etcd revision (default: the newest in the file)')
    .option(
      '--deleted',
      'objects whose last retained record is a deletion (only the window the apiserver has not compacted yet, 5 minutes by default)',
    )
    .option('--show-managed-fields', 'keep metadata.managedFields (hidden by default, as kubectl does)')
    .option('--show-secrets', 'print Secret values instead of REDACTED(sha256:…)')
    .option(
      '--encryption-config <file>',
      "kube-apiserver's EncryptionConfiguration, to decrypt encrypted values",
    )
    .option('--etcd-prefix <prefix>', "kube-apiserver's --etcd-prefix", '/registry')
    .action(async (resource: string, names: string[], o: GetOptions) => {
      const format = o.output as OutputFormat;
      if (!FORMATS.includes(format))
        throw new UsageError(`-o: expected one of ${FORMATS.join(', ')}, got '${o.output}'`);
      if (o.allNamespaces && o.namespace) throw new UsageError('-n and -A cannot be combined');
      let wanted = names;
      let resName = resource;
      if (resource.includes('/')) {
        if (names.length > 0) throw new UsageError('TYPE/NAME cannot be combined with more names');
        [resName, ...wanted] = [
          resource.slice(0, resource.indexOf('/')),
          resource.slice(resource.indexOf('/') + 1),
        ];
      }
      let encryption = o.encryptionConfig ? EncryptionConfig.load(o.encryptionConfig) : undefined;
      const revision = parseRevision(o.rev);
      const labelReqs = o.selector ? parseSelector(o.selector) : undefined;
      const fieldSel = o.fieldSelector ? parseFieldSelector(o.fieldSelector) : undefined;
      const snap = await openSnapshot(o.from);
      try {
        for (const w of snap.warnings) process.stderr.write(`lifeboat: warning: ${w}\n`);
        const rke = snap.input.zip?.rkestate;
        if (!encryption && rke) {
          encryption = await encryptionFromRkeState(o.from, rke);
          if (encryption) process.stderr.write(`lifeboat: using the encryption configuration in ${rke}\n`);
        }
        const store = new KubeStore(snap.db, {
          etcdPrefix: o.etcdPrefix,
          revision,
          ...(encryption ? { encryption } : {}),
        });
        const found = store.resources.resolve(resName);
        if (found.length === 0) {
          throw new UsageError(
            `the server doesn't have a resource type "${resName}" (not a built-in and no CRD in ${o.from})`,
          );
        }
        const r: ResourceInfo = found[0]!;
        const ns = r.namespaced && !o.allNamespaces ? (o.namespace ?? 'default') : undefined;
        const views: ObjectView[] = [];
        if (o.deleted) {
          for (const v of store.deleted(r, ns)) {
            if (wanted.length > 0 && !wanted.includes(v.name)) continue;
            if (fieldSel && !fieldSel({ metadata: { name: v.name, namespace: v.namespace ?? '' } })) continue;
            if (v.object) {
              const meta = (v.object.metadata ?? {}) as JsonObject;
              v.object = {
                ...v.object,
                metadata: {
                  ...meta,
                  annotations: {
                    ...((meta.annotations as JsonObject | undefined) ?? {}),
                    'lifeboat.io/deleted-at-revision': String(v.deletedAtRevision),
                  },
                },
              };
            }
            views.push(v);
          }
          process.stderr.write(
            `lifeboat: deleted objects are those whose deletion is still retained (revisions after ${snap.db.mvcc.compactRevision}); each carries the annotation lifeboat.io/deleted-at-revision\n`,
          );
        } else if (wanted.length > 0) {
          for (const n of wanted) {
            const kv = store.value(Buffer.from(store.resources.key(r, n, ns)));
            if (!kv)
              throw new NotFoundError(
                `${r.resource}${r.group ? `.${r.group}` : ''} "${n}"${ns ? ` in namespace ${ns}` : ''}`,
                o.from,
              );
            views.push(store.view(kv, r));
          }
        } else {
          const namesOnly = format === 'name' && !labelReqs;
          const names: string[] = [];
          for (const kv of store.keys(r, ns)) {
            const id = store.identify(kv, r);
            if (fieldSel && !fieldSel({ metadata: { name: id.name, namespace: id.namespace ?? '' } }))
              continue;
            // Listing names reads keys only: no value is read or decoded.
            if (namesOnly) names.push(`${r.kind.toLowerCase()}${r.group ? `.${r.group}` : ''}/${id.name}`);
            else views.push(store.view(kv, r));
          }
          if (namesOnly) {
            if (names.length === 0)
              process.stderr.write(`No resources found${ns ? ` in ${ns} namespace` : ''}.\n`);
            else await out(names.join('\n') + '\n');
            return;
          }
        }
        const rows: TableInput[] = [];
        for (const v of views) {
          if (!v.object) {
            process.stderr.write(`lifeboat: ${v.key}: ${v.problem ?? 'not decodable'}\n`);
            continue;
          }
          const meta = v.object.metadata as JsonObject | undefined;
          if (labelReqs && !matchesSelector(meta?.labels as JsonObject | undefined, labelReqs)) continue;
          if (v.unknownFields.length > 0) {
            process.stderr.write(
              `lifeboat: warning: ${v.key}: ${v.unknownFields.length} field(s) unknown to the schema (${v.unknownFields
                .slice(0, 3)
                .map((u) => `${u.path} #${u.num}`)
                .join(', ')}) kept in the annotation lifeboat.io/unknown-fields\n`,
            );
          }
          let obj = v.object;
          if (v.unknownFields.length > 0) {
            // Kept, not dropped: the raw fields travel with the object as an annotation.
            const m = (obj.metadata ?? {}) as JsonObject;
            const ann = (m.annotations ?? {}) as JsonObject;
            obj = {
              ...obj,
              metadata: {
                ...m,
                annotations: { ...ann, 'lifeboat.io/unknown-fields': JSON.stringify(v.unknownFields) },
              },
            };
          }
          rows.push({ resource: r, object: present(obj, o) });
        }
        if (rows.length === 0 && format !== 'json' && format !== 'yaml') {
          process.stderr.write(`No resources found${ns ? ` in ${ns} namespace` : ''}.\n`);
          return;
        }
        if (format === 'json' || format === 'yaml') {
          await out(
            renderDocument(
              rows.map((x) => x.object),
              format,
              wanted.length !== 1,
            ),
          );
        } else if (format === 'name') {
          await out(rows.map((x) => nameOf(r, x.object)).join('\n') + '\n');
        } else {
          const now = store.snapshotTime(snap.input.path);
          process.stderr.write(
            `lifeboat: AGE is measured from ${now.time.toISOString()} (${now.source}); revision ${store.revision}\n`,
          );
          await out(
            renderTable(rows, {
              allNamespaces: !!o.allNamespaces && r.namespaced,
              wide: format === 'wide',
              now: now.time,
            }),
          );
        }
      } finally {
        snap.close();
      }
    });
}
