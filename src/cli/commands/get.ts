/** `lifeboat get RESOURCE [NAME...] --from FILE`: Kubernetes objects from a backup, the way kubectl shows them. */
import type { Command } from 'commander';
import { EncryptionConfig, encryptionFromRkeState } from '../../kube/encryption.js';
import {
  matchesSelector,
  nameOf,
  parseFieldSelector,
  parseSelector,
  present,
  renderDocument,
  unknownFieldsNote,
  withUnknownFields,
  renderTable,
  type OutputFormat,
  type TableInput,
} from '../../kube/present.js';
import type { JsonObject } from '../../kube/render-proto.js';
import { ObjectNotFoundError, qualifiedName, type ResourceInfo } from '../../kube/resources.js';
import { KubeStore, type ObjectView } from '../../kube/store.js';
import { openSnapshot, type OpenedSnapshot } from '../../snapshot/index.js';
import { UsageError } from '../../util/errors.js';
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

export function define(cmd: Command): void {
  cmd
    .argument(
      '<resource>',
      'resource(s) as kubectl accepts them: plural, singular, short name, Kind or resource.group; several comma-separated (deploy,cm); or TYPE/NAME',
    )
    .argument('[names...]', 'object names, or more TYPE/NAME pairs')
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
    );
  addObjectOptions(cmd).action(async (resource: string, names: string[], o: GetOptions) => {
    const format = o.output as OutputFormat;
    if (!FORMATS.includes(format))
      throw new UsageError(`-o: expected one of ${FORMATS.join(', ')}, got '${o.output}'`);
    if (o.allNamespaces && o.namespace) throw new UsageError('-n and -A cannot be combined');
    const targets = parseTargets(resource, names);
    const revision = parseRevision(o.rev);
    const labelReqs = o.selector ? parseSelector(o.selector) : undefined;
    const fieldSel = o.fieldSelector ? parseFieldSelector(o.fieldSelector) : undefined;
    const { snap, encryption } = await openWithEncryption(o.from, o.encryptionConfig);
    try {
      const store = new KubeStore(snap.db, {
        etcdPrefix: o.etcdPrefix,
        revision,
        ...(encryption ? { encryption } : {}),
      });
      // Resolve every type first: an unknown one fails before anything is printed, as kubectl does.
      // Consecutive arguments of one type form one group; kubectl starts a new table whenever the
      // type changes (cm/a deploy/web cm/b prints three tables).
      const groups: { r: ResourceInfo; names: string[] }[] = [];
      for (const t of targets) {
        const r = store.resources.resolveOne(t.type, o.from);
        const g = groups.at(-1);
        if (g && g.r === r && t.names.length > 0 && g.names.length > 0)
          g.names.push(...t.names.filter((n) => !g.names.includes(n)));
        else groups.push({ r, names: [...t.names] });
      }
      const distinctTypes = new Set(groups.map((g) => g.r)).size;
      const nsOf = (r: ResourceInfo): string | undefined =>
        r.namespaced && !o.allNamespaces ? (o.namespace ?? 'default') : undefined;
      const missing: string[] = [];
      const perGroup: { r: ResourceInfo; rows: TableInput[]; names?: string[] }[] = [];
      for (const { r, names: wanted } of groups) {
        const got = collect(store, r, wanted, nsOf(r), {
          format,
          labelReqs,
          fieldSel,
          deleted: !!o.deleted,
          present: o,
        });
        missing.push(...got.missing);
        perGroup.push({ r, ...got });
      }
      if (o.deleted) {
        process.stderr.write(
          `lifeboat: deleted objects are those whose deletion is still retained (revisions after ${snap.db.mvcc.compactRevision}); each carries the annotation lifeboat.io/deleted-at-revision\n`,
        );
      }
      const total = perGroup.reduce((n, g) => n + g.rows.length + (g.names?.length ?? 0), 0);
      if (total === 0 && format !== 'json' && format !== 'yaml') {
        if (missing.length === 0) {
          const ns = groups.every((g) => g.r.namespaced) ? nsOf(groups[0]!.r) : undefined;
          process.stderr.write(`No resources found${ns ? ` in ${ns} namespace` : ''}.\n`);
        }
      } else if (format === 'json' || format === 'yaml') {
        // One object named once prints as itself; anything else is a List, as kubectl prints it.
        const single = targets.length === 1 && targets[0]!.names.length === 1;
        const objects = perGroup.flatMap((g) => g.rows.map((x) => x.object));
        if (!(single && objects.length === 0)) await out(renderDocument(objects, format, !single));
      } else if (format === 'name') {
        const lines = perGroup.flatMap((g) => g.names ?? g.rows.map((x) => nameOf(g.r, x.object)));
        await out(lines.join('\n') + '\n');
      } else {
        const now = store.snapshotTime(snap.input.path);
        process.stderr.write(
          `lifeboat: AGE is measured from ${now.time.toISOString()} (${now.source}); revision ${store.revision}\n`,
        );
        // Several types: one table per kind, names as kind.group/name, a blank line between tables.
        const withKind = distinctTypes > 1;
        const tables = perGroup
          .filter((g) => g.rows.length > 0)
          .map((g) =>
            renderTable(g.rows, {
              allNamespaces: !!o.allNamespaces && g.r.namespaced,
              wide: format === 'wide',
              now: now.time,
              withKind,
            }),
          );
        await out(tables.join('\n'));
      }
      if (missing.length > 0) throw new ObjectNotFoundError(missing, o.from, store.revision);
    } finally {
      snap.close();
    }
  });
}

/** The options of commands that print objects (get, dump): what is shown, decryption, the etcd prefix. */
export function addObjectOptions(cmd: Command): Command {
  return cmd
    .option('--show-managed-fields', 'keep metadata.managedFields (hidden by default, as kubectl does)')
    .option('--show-secrets', 'print Secret values instead of REDACTED(sha256:…)')
    .option(
      '--encryption-config <file>',
      "kube-apiserver's EncryptionConfiguration, to decrypt encrypted values",
    )
    .option('--etcd-prefix <prefix>', "kube-apiserver's --etcd-prefix", '/registry');
}

/**
 * Opens a snapshot for reading objects: its warnings go to stderr, and values are decrypted with
 * `--encryption-config`, else with the configuration in an RKE1 `.rkestate` the snapshot zip carries.
 */
export async function openWithEncryption(
  from: string,
  configFile: string | undefined,
): Promise<{ snap: OpenedSnapshot; encryption: EncryptionConfig | undefined }> {
  let encryption = configFile ? EncryptionConfig.load(configFile) : undefined;
  const snap = await openSnapshot(from);
  try {
    for (const w of snap.warnings) process.stderr.write(`lifeboat: warning: ${w}\n`);
    const rke = snap.input.zip?.rkestate;
    if (!encryption && rke) {
      encryption = await encryptionFromRkeState(from, rke);
      if (encryption) process.stderr.write(`lifeboat: using the encryption configuration in ${rke}\n`);
    }
    return { snap, encryption };
  } catch (err) {
    snap.close();
    throw err;
  }
}

/** One requested type with the names asked for (none: every object). */
export interface GetTarget {
  type: string;
  names: string[];
}

/**
 * kubectl's argument forms: `TYPE[,TYPE...] [NAME...]`, or only `TYPE/NAME` pairs (which cannot be mixed
 * with bare names).
 */
export function parseTargets(resource: string, names: string[]): GetTarget[] {
  const args = [resource, ...names];
  if (args.some((a) => a.includes('/'))) {
    return args.map((a) => {
      const slash = a.indexOf('/');
      if (slash <= 0 || slash === a.length - 1)
        throw new UsageError(
          `arguments in resource/name form must have a single resource and name, got '${a}' (use TYPE/NAME for every argument, or TYPE NAME...)`,
        );
      const type = a.slice(0, slash);
      if (type.includes(','))
        throw new UsageError(`'${a}': a comma-separated type list cannot be combined with /NAME`);
      return { type, names: [a.slice(slash + 1)] };
    });
  }
  const types = resource.split(',');
  if (types.some((t) => t === ''))
    throw new UsageError(`'${resource}': expected TYPE[,TYPE...] without empty entries`);
  return types.map((type) => ({ type, names: [...names] }));
}

interface CollectOptions {
  format: OutputFormat;
  labelReqs: ReturnType<typeof parseSelector> | undefined;
  fieldSel: ((o: JsonObject) => boolean) | undefined;
  deleted: boolean;
  present: { showManagedFields?: boolean; showSecrets?: boolean };
}

/** The objects of one resource as printed; `names` instead of rows when -o name could skip decoding. */
function collect(
  store: KubeStore,
  r: ResourceInfo,
  wanted: string[],
  ns: string | undefined,
  o: CollectOptions,
): { rows: TableInput[]; names?: string[]; missing: string[] } {
  const views: ObjectView[] = [];
  const missing: string[] = [];
  if (o.deleted) {
    for (const v of store.deleted(r, ns)) {
      if (wanted.length > 0 && !wanted.includes(v.name)) continue;
      if (o.fieldSel && !o.fieldSel({ metadata: { name: v.name, namespace: v.namespace ?? '' } })) continue;
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
  } else if (o.format === 'name' && !o.labelReqs && wanted.length === 0) {
    // Listing names reads keys only: no value is read or decoded.
    const names: string[] = [];
    for (const kv of store.keys(r, ns)) {
      const id = store.identify(kv, r);
      if (o.fieldSel && !o.fieldSel({ metadata: { name: id.name, namespace: id.namespace ?? '' } })) continue;
      names.push(`${r.kind.toLowerCase()}${r.group ? `.${r.group}` : ''}/${id.name}`);
    }
    return { rows: [], names, missing };
  } else {
    const sel = o.fieldSel;
    const got = store.list(r, ns, {
      names: wanted,
      ...(sel ? { keep: (id) => sel({ metadata: { name: id.name, namespace: id.namespace ?? '' } }) } : {}),
    });
    views.push(...got.views);
    missing.push(...got.missing.map((n) => qualifiedName(r, n, ns)));
  }
  const rows: TableInput[] = [];
  for (const v of views) {
    if (!v.object) {
      process.stderr.write(`lifeboat: ${v.key}: ${v.problem ?? 'not decodable'}\n`);
      continue;
    }
    const meta = v.object.metadata as JsonObject | undefined;
    if (o.labelReqs && !matchesSelector(meta?.labels as JsonObject | undefined, o.labelReqs)) continue;
    if (v.unknownFields.length > 0)
      process.stderr.write(`lifeboat: warning: ${unknownFieldsNote(v.key, v.unknownFields)}\n`);
    const obj = withUnknownFields(v.object, v.unknownFields);
    rows.push({ resource: r, object: present(obj, o.present) });
  }
  return { rows, missing };
}
