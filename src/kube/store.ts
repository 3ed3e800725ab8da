/**
 * Kubernetes objects in an etcd database file, at one revision: resources (built-ins plus the CRDs found in
 * the file), streaming key listings that never touch values, and per-object decryption + decoding.
 */
import { statSync } from 'node:fs';
import { entryValue, type LeafEntry } from '../bbolt/index.js';
import type { EtcdDb, KeyValue } from '../etcd/index.js';
import { Buckets, decodeKeyValue, parseRevisionKey, prefixRangeEnd } from '../etcd/index.js';
import { decodeObject, storageEncoding, type StorageEncoding } from './decode.js';
import { decryptValue, EncryptionConfig, encryptionPrefix } from './encryption.js';
import type { JsonObject, JsonValue, UnknownField } from './render-proto.js';
import { ResourceMap, type ResourceInfo } from './resources.js';

export interface StoreOptions {
  etcdPrefix?: string;
  encryption?: EncryptionConfig;
  /** 0/undefined = the file's current revision. */
  revision?: bigint;
}

export interface ObjectView {
  key: string;
  resource?: ResourceInfo;
  namespace?: string;
  name: string;
  modRevision: bigint;
  createRevision: bigint;
  /** Present when the value decoded. */
  object?: JsonObject;
  encoding?: StorageEncoding;
  /** Provider and key that decrypted it, when it was encrypted. */
  encryption?: { provider: string; keyName: string };
  /** Why the object could not be shown (encryption without key, KMS, malformed value). */
  problem?: string;
  unknownFields: UnknownField[];
}

function asObj(v: JsonValue | undefined): JsonObject | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

export class KubeStore {
  readonly revision: bigint;
  readonly resources: ResourceMap;
  readonly encryption: EncryptionConfig;

  constructor(
    readonly db: EtcdDb,
    opts: StoreOptions = {},
  ) {
    this.revision = db.mvcc.resolveRevision(opts.revision ?? 0n);
    this.encryption = opts.encryption ?? EncryptionConfig.empty();
    this.resources = new ResourceMap(opts.etcdPrefix);
    for (const r of this.customResources()) this.resources.add(r);
  }

  /** Custom resources defined by the CRDs stored in the file. */
  private customResources(): ResourceInfo[] {
    const crd = this.resources.resolve('customresourcedefinitions')[0]!;
    const out: ResourceInfo[] = [];
    for (const kv of this.objects(crd)) {
      const v = this.view(kv, crd);
      const spec = asObj(v.object?.spec);
      const names = asObj(spec?.names);
      if (!spec || !names || typeof names.plural !== 'string' || typeof spec.group !== 'string') continue;
      const versions = (Array.isArray(spec.versions) ? spec.versions : [])
        .map(asObj)
        .filter((x) => x !== undefined);
      const served = versions.filter((x) => x.served === true);
      const main = versions.find((x) => x.storage === true) ?? served[0];
      const cols = (Array.isArray(main?.additionalPrinterColumns) ? main.additionalPrinterColumns : [])
        .map(asObj)
        .filter((c) => c !== undefined)
        .map((c) => ({
          name: String(c.name),
          type: String(c.type),
          jsonPath: String(c.jsonPath),
          ...(typeof c.priority === 'number' ? { priority: c.priority } : {}),
        }));
      const info: ResourceInfo = {
        resource: names.plural,
        group: spec.group,
        kind: String(names.kind ?? ''),
        namespaced: spec.scope !== 'Cluster',
        shortNames: Array.isArray(names.shortNames) ? names.shortNames.map(String) : [],
        segment: `${spec.group}/${names.plural}`,
        versions: served.map((x) => String(x.name)),
        printerColumns: cols,
      };
      if (typeof names.singular === 'string') info.singular = names.singular;
      if (Array.isArray(names.categories)) info.categories = names.categories.map(String);
      out.push(info);
    }
    return out;
  }

  /** Live keys of a resource at the store's revision (keys only; values are not read). */
  *keys(r: ResourceInfo, namespace?: string): IterableIterator<KeyValue> {
    const prefix = Buffer.from(this.resources.keyPrefix(r, namespace));
    yield* this.db.mvcc.liveAt(this.revision, {
      key: prefix,
      rangeEnd: prefixRangeEnd(prefix),
      keysOnly: true,
    });
  }

  /**
   * Live objects of a resource at the store's revision, with their values, in key order: one pass over the
   * file for the whole listing. (Reading values key by key instead costs a pass each: a snapshot has no
   * index from key to latest revision.)
   */
  *objects(r: ResourceInfo, namespace?: string): IterableIterator<KeyValue> {
    const prefix = Buffer.from(this.resources.keyPrefix(r, namespace));
    yield* this.db.mvcc.liveAt(this.revision, { key: prefix, rangeEnd: prefixRangeEnd(prefix) });
  }

  /**
   * Views of a resource's live objects in one pass over the file: every one (`keep` filters by identity
   * before any value is decoded), or, with `names`, those named, in the order given, and the names not found.
   */
  list(
    r: ResourceInfo,
    namespace: string | undefined,
    o: { names?: string[]; keep?: (id: Pick<ObjectView, 'name' | 'namespace'>) => boolean } = {},
  ): { views: ObjectView[]; missing: string[] } {
    const names = o.names ?? [];
    if (names.length === 0) {
      const views: ObjectView[] = [];
      for (const kv of this.objects(r, namespace)) {
        if (o.keep && !o.keep(this.identify(kv, r))) continue;
        views.push(this.view(kv, r));
      }
      return { views, missing: [] };
    }
    const want = new Map(names.map((n) => [this.resources.key(r, n, namespace), n]));
    const found = new Map<string, ObjectView>();
    for (const kv of this.objects(r, namespace)) {
      const key = kv.key.toString('utf8');
      if (want.has(key)) found.set(key, this.view(kv, r));
    }
    const views: ObjectView[] = [];
    const missing: string[] = [];
    for (const [key, n] of want) {
      const v = found.get(key);
      if (v) views.push(v);
      else missing.push(n);
    }
    return { views, missing };
  }

  /** The value of a key at the store's revision (a pass over the file: for one key, not for listings). */
  value(key: Buffer): KeyValue | undefined {
    return this.db.mvcc.range({ key, revision: this.revision }).kvs[0];
  }

  /** Identity of a listed key without reading its value. */
  identify(kv: KeyValue, r?: ResourceInfo): Pick<ObjectView, 'key' | 'resource' | 'namespace' | 'name'> {
    const key = kv.key.toString('utf8');
    const p = this.resources.parse(key);
    const res = r ?? p.resource;
    const out: Pick<ObjectView, 'key' | 'resource' | 'namespace' | 'name'> = { key, name: p.name ?? key };
    if (res) out.resource = res;
    if (res?.namespaced && p.namespace !== undefined) out.namespace = p.namespace;
    // A custom resource key parsed without the CRD table: <group>/<plural>/<ns>/<name> vs cluster-scoped.
    if (res && !p.resource) {
      const rest = key.slice(this.resources.keyPrefix(res).length).split('/');
      if (res.namespaced && rest.length >= 2) {
        out.namespace = rest[0]!;
        out.name = rest.slice(1).join('/');
      } else out.name = rest.join('/');
    }
    return out;
  }

  /** Decrypts and decodes one object (reading its value if the listing was keys-only). */
  view(kv: KeyValue, r?: ResourceInfo): ObjectView {
    const full = kv.value === undefined ? (this.value(kv.key) ?? kv) : kv;
    const id = this.identify(full, r);
    const v: ObjectView = {
      ...id,
      modRevision: full.modRevision,
      createRevision: full.createRevision,
      unknownFields: [],
    };
    let value = full.value ?? Buffer.alloc(0);
    if (encryptionPrefix(value)) {
      const d = decryptValue(value, id.key, this.encryption);
      if (!d.ok) {
        v.encoding = 'encrypted';
        v.encryption = { provider: d.provider, keyName: d.keyName };
        v.problem = d.reason;
        return v;
      }
      v.encryption = { provider: d.provider, keyName: d.keyName };
      value = d.plaintext;
    }
    v.encoding = storageEncoding(value);
    try {
      const d = decodeObject(value, { key: id.key, modRevision: full.modRevision });
      v.object = d.object;
      v.unknownFields = d.unknownFields;
    } catch (e) {
      v.problem = (e as Error).message;
    }
    return v;
  }

  /**
   * Objects of a resource whose last retained record (at or before the store's revision) is a deletion,
   * each shown as it was last written, with the revision that deleted it. Covers only the retained window:
   * kube-apiserver compacts every 5 minutes by default, and compaction drops older deletions.
   */
  *deleted(
    r: ResourceInfo,
    namespace?: string,
  ): IterableIterator<ObjectView & { deletedAtRevision: bigint }> {
    const prefix = Buffer.from(this.resources.keyPrefix(r, namespace));
    const bucket = this.db.mvcc.db.bucket(Buckets.key);
    if (!bucket) return;
    const last = new Map<string, { put?: LeafEntry; deletedAt?: bigint }>();
    const c = bucket.cursor();
    for (let e = c.first(); e; e = c.next()) {
      const rev = parseRevisionKey(e.key);
      if (typeof rev === 'string' || rev.main > this.revision) continue;
      const kv = decodeKeyValue(entryValue(e));
      if (kv.key.length < prefix.length || !kv.key.subarray(0, prefix.length).equals(prefix)) continue;
      const id = kv.key.toString('latin1');
      const slot = last.get(id) ?? {};
      if (rev.tombstone) slot.deletedAt = rev.main;
      else {
        slot.put = e;
        delete slot.deletedAt;
      }
      last.set(id, slot);
    }
    const ids = [...last.keys()].sort();
    for (const id of ids) {
      const slot = last.get(id)!;
      if (slot.deletedAt === undefined || !slot.put) continue;
      const kv = decodeKeyValue(entryValue(slot.put));
      yield { ...this.view(kv, r), deletedAtRevision: slot.deletedAt };
    }
  }

  /**
   * The time "now" is measured from for AGE: the newest Lease renewTime in the file, else the file's mtime.
   */
  snapshotTime(fileForMtime?: string): { time: Date; source: string } {
    const leases = this.resources.resolve('leases')[0];
    let newest: Date | undefined;
    if (leases) {
      for (const kv of this.objects(leases)) {
        const o = this.view(kv, leases).object;
        const t = asObj(o?.spec)?.renewTime;
        if (typeof t === 'string') {
          const d = new Date(t);
          if (!Number.isNaN(d.getTime()) && (!newest || d > newest)) newest = d;
        }
      }
    }
    if (newest) return { time: newest, source: 'newest Lease renewTime' };
    if (fileForMtime) return { time: statSync(fileForMtime).mtime, source: 'file modification time' };
    return { time: new Date(), source: 'current time' };
  }
}
