/**
 * Kubernetes' storage keys ↔ resources, in one place: `<prefix>/<segment>/[<namespace>/]<name>` where the
 * segment is the resource name, except for the historic special cases (SpecialDefaultResourcePrefixes in
 * k8s.io/kubernetes pkg/kubeapiserver/default_storage_factory_builder.go) and custom resources and
 * aggregator objects, which live under `<prefix>/<group>/<resource>`. `--etcd-prefix` (default /registry)
 * is the apiserver's flag of the same name.
 */

import { NotFoundError } from '../util/errors.js';

export const DEFAULT_ETCD_PREFIX = '/registry';

/** A resource name that is neither built in nor defined by a CRD in the file (kubectl's wording). */
export class UnknownResourceError extends NotFoundError {
  constructor(
    readonly resource: string,
    readonly file: string,
  ) {
    super(`resource type "${resource}"`, file);
    this.message = `the server doesn't have a resource type "${resource}" (not a built-in and no CRD defines it in ${file}; list what the file holds with 'lifeboat api-resources --from ${file}')`;
  }
}

/** An object that is not in the file at the revision read (kubectl's `Error from server (NotFound)` line). */
export class ObjectNotFoundError extends NotFoundError {
  constructor(
    readonly objects: string[],
    file: string,
    revision: bigint,
  ) {
    super(objects.join(', '), file);
    this.message = `(NotFound): ${objects.join('; ')} not found in ${file} at revision ${revision}`;
  }
}

/** kubectl's `configmaps "name"` / `deployments.apps "web"` naming of an object in messages. */
export function qualifiedName(r: ResourceInfo, name: string, namespace?: string): string {
  return `${r.resource}${r.group ? `.${r.group}` : ''} "${name}"${namespace !== undefined ? ` in namespace "${namespace}"` : ''}`;
}

export interface ResourceInfo {
  /** Plural resource name, e.g. `deployments`. */
  resource: string;
  group: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  /** Path segment(s) under the prefix: `deployments`, `services/specs`, `apiextensions.k8s.io/customresourcedefinitions`. */
  segment: string;
  /** Versions the API serves the resource at, newest preferred first (informational). */
  versions: string[];
  /** True when the key space is not an API resource (e.g. ranges). */
  internal?: boolean;
  /** For custom resources: additionalPrinterColumns of the served version (v1 form). */
  printerColumns?: { name: string; type: string; jsonPath: string; priority?: number }[];
  singular?: string;
  categories?: string[];
}

type Row = [
  resource: string,
  group: string,
  kind: string,
  namespaced: boolean,
  shortNames: string,
  versions: string,
  segment?: string,
];

// Built-in resources that kube-apiserver persists in etcd (1.24 … 1.34, including removed ones so old
// backups map too). Short names as kubectl shows them.
const BUILTIN: Row[] = [
  ['configmaps', '', 'ConfigMap', true, 'cm', 'v1'],
  ['endpoints', '', 'Endpoints', true, 'ep', 'v1', 'services/endpoints'],
  ['events', '', 'Event', true, 'ev', 'v1'],
  ['limitranges', '', 'LimitRange', true, 'limits', 'v1'],
  ['namespaces', '', 'Namespace', false, 'ns', 'v1'],
  ['nodes', '', 'Node', false, 'no', 'v1', 'minions'],
  ['persistentvolumeclaims', '', 'PersistentVolumeClaim', true, 'pvc', 'v1'],
  ['persistentvolumes', '', 'PersistentVolume', false, 'pv', 'v1'],
  ['pods', '', 'Pod', true, 'po', 'v1'],
  ['podtemplates', '', 'PodTemplate', true, '', 'v1'],
  ['replicationcontrollers', '', 'ReplicationController', true, 'rc', 'v1', 'controllers'],
  ['resourcequotas', '', 'ResourceQuota', true, 'quota', 'v1'],
  ['secrets', '', 'Secret', true, '', 'v1'],
  ['serviceaccounts', '', 'ServiceAccount', true, 'sa', 'v1'],
  ['services', '', 'Service', true, 'svc', 'v1', 'services/specs'],
  [
    'mutatingwebhookconfigurations',
    'admissionregistration.k8s.io',
    'MutatingWebhookConfiguration',
    false,
    '',
    'v1',
  ],
  [
    'validatingwebhookconfigurations',
    'admissionregistration.k8s.io',
    'ValidatingWebhookConfiguration',
    false,
    '',
    'v1',
  ],
  [
    'validatingadmissionpolicies',
    'admissionregistration.k8s.io',
    'ValidatingAdmissionPolicy',
    false,
    '',
    'v1,v1beta1',
  ],
  [
    'validatingadmissionpolicybindings',
    'admissionregistration.k8s.io',
    'ValidatingAdmissionPolicyBinding',
    false,
    '',
    'v1,v1beta1',
  ],
  [
    'mutatingadmissionpolicies',
    'admissionregistration.k8s.io',
    'MutatingAdmissionPolicy',
    false,
    '',
    'v1beta1,v1alpha1',
  ],
  [
    'mutatingadmissionpolicybindings',
    'admissionregistration.k8s.io',
    'MutatingAdmissionPolicyBinding',
    false,
    '',
    'v1beta1,v1alpha1',
  ],
  [
    'customresourcedefinitions',
    'apiextensions.k8s.io',
    'CustomResourceDefinition',
    false,
    'crd,crds',
    'v1',
    'apiextensions.k8s.io/customresourcedefinitions',
  ],
  [
    'apiservices',
    'apiregistration.k8s.io',
    'APIService',
    false,
    '',
    'v1',
    'apiregistration.k8s.io/apiservices',
  ],
  ['controllerrevisions', 'apps', 'ControllerRevision', true, '', 'v1'],
  ['daemonsets', 'apps', 'DaemonSet', true, 'ds', 'v1'],
  ['deployments', 'apps', 'Deployment', true, 'deploy', 'v1'],
  ['replicasets', 'apps', 'ReplicaSet', true, 'rs', 'v1'],
  ['statefulsets', 'apps', 'StatefulSet', true, 'sts', 'v1'],
  ['horizontalpodautoscalers', 'autoscaling', 'HorizontalPodAutoscaler', true, 'hpa', 'v2,v1'],
  ['cronjobs', 'batch', 'CronJob', true, 'cj', 'v1'],
  ['jobs', 'batch', 'Job', true, '', 'v1'],
  ['certificatesigningrequests', 'certificates.k8s.io', 'CertificateSigningRequest', false, 'csr', 'v1'],
  ['clustertrustbundles', 'certificates.k8s.io', 'ClusterTrustBundle', false, '', 'v1beta1,v1alpha1'],
  ['podcertificaterequests', 'certificates.k8s.io', 'PodCertificateRequest', true, '', 'v1alpha1'],
  ['leases', 'coordination.k8s.io', 'Lease', true, '', 'v1'],
  ['leasecandidates', 'coordination.k8s.io', 'LeaseCandidate', true, '', 'v1beta1,v1alpha2'],
  ['endpointslices', 'discovery.k8s.io', 'EndpointSlice', true, '', 'v1'],
  ['flowschemas', 'flowcontrol.apiserver.k8s.io', 'FlowSchema', false, '', 'v1,v1beta3'],
  [
    'prioritylevelconfigurations',
    'flowcontrol.apiserver.k8s.io',
    'PriorityLevelConfiguration',
    false,
    '',
    'v1,v1beta3',
  ],
  ['storageversions', 'internal.apiserver.k8s.io', 'StorageVersion', false, '', 'v1alpha1'],
  ['ingresses', 'networking.k8s.io', 'Ingress', true, 'ing', 'v1', 'ingress'],
  ['ingressclasses', 'networking.k8s.io', 'IngressClass', false, '', 'v1'],
  ['networkpolicies', 'networking.k8s.io', 'NetworkPolicy', true, 'netpol', 'v1'],
  ['ipaddresses', 'networking.k8s.io', 'IPAddress', false, 'ip', 'v1,v1beta1'],
  ['servicecidrs', 'networking.k8s.io', 'ServiceCIDR', false, '', 'v1,v1beta1'],
  ['runtimeclasses', 'node.k8s.io', 'RuntimeClass', false, '', 'v1'],
  ['poddisruptionbudgets', 'policy', 'PodDisruptionBudget', true, 'pdb', 'v1'],
  ['podsecuritypolicies', 'policy', 'PodSecurityPolicy', false, 'psp', 'v1beta1', 'podsecuritypolicy'],
  ['clusterrolebindings', 'rbac.authorization.k8s.io', 'ClusterRoleBinding', false, '', 'v1'],
  ['clusterroles', 'rbac.authorization.k8s.io', 'ClusterRole', false, '', 'v1'],
  ['rolebindings', 'rbac.authorization.k8s.io', 'RoleBinding', true, '', 'v1'],
  ['roles', 'rbac.authorization.k8s.io', 'Role', true, '', 'v1'],
  ['deviceclasses', 'resource.k8s.io', 'DeviceClass', false, '', 'v1,v1beta2,v1beta1'],
  ['resourceclaims', 'resource.k8s.io', 'ResourceClaim', true, '', 'v1,v1beta2,v1beta1'],
  ['resourceclaimtemplates', 'resource.k8s.io', 'ResourceClaimTemplate', true, '', 'v1,v1beta2,v1beta1'],
  ['resourceslices', 'resource.k8s.io', 'ResourceSlice', false, '', 'v1,v1beta2,v1beta1'],
  ['devicetaintrules', 'resource.k8s.io', 'DeviceTaintRule', false, '', 'v1alpha3'],
  ['podschedulingcontexts', 'resource.k8s.io', 'PodSchedulingContext', true, '', 'v1alpha2'],
  ['priorityclasses', 'scheduling.k8s.io', 'PriorityClass', false, 'pc', 'v1'],
  ['csidrivers', 'storage.k8s.io', 'CSIDriver', false, '', 'v1'],
  ['csinodes', 'storage.k8s.io', 'CSINode', false, '', 'v1'],
  ['csistoragecapacities', 'storage.k8s.io', 'CSIStorageCapacity', true, '', 'v1'],
  ['storageclasses', 'storage.k8s.io', 'StorageClass', false, 'sc', 'v1'],
  ['volumeattachments', 'storage.k8s.io', 'VolumeAttachment', false, '', 'v1'],
  ['volumeattributesclasses', 'storage.k8s.io', 'VolumeAttributesClass', false, 'vac', 'v1,v1beta1'],
  ['storageversionmigrations', 'storagemigration.k8s.io', 'StorageVersionMigration', false, '', 'v1alpha1'],
];

/** Key spaces under the prefix that are not served API resources. */
const INTERNAL: Row[] = [
  ['ranges', '', 'RangeAllocation', false, '', 'v1', 'ranges'],
  ['masterleases', '', 'Endpoints', false, '', 'v1', 'masterleases'],
  ['peerserverleases', '', 'Endpoints', false, '', 'v1', 'peerserverleases'],
];

function toInfo(r: Row, internal = false): ResourceInfo {
  const [resource, group, kind, namespaced, shortNames, versions, segment] = r;
  const info: ResourceInfo = {
    resource,
    group,
    kind,
    namespaced,
    shortNames: shortNames ? shortNames.split(',') : [],
    segment: segment ?? resource,
    versions: versions.split(','),
  };
  if (internal) info.internal = true;
  return info;
}

export const BUILTIN_RESOURCES: readonly ResourceInfo[] = BUILTIN.map((r) => toInfo(r));
const INTERNAL_RESOURCES: readonly ResourceInfo[] = INTERNAL.map((r) => toInfo(r, true));

/** What a storage key names. */
export interface ParsedKey {
  /** The key with the prefix removed and split, for diagnostics. */
  key: string;
  resource?: ResourceInfo;
  /** Set when the key is `<prefix>/<group>/<resource>/…` of a resource not in the table (custom resource). */
  group?: string;
  resourceName?: string;
  namespace?: string;
  name?: string;
  /** The key is not under the prefix (e.g. compact_rev_key) or not an object key. */
  notObject?: boolean;
}

/** Maps storage keys to resources and back, for one `--etcd-prefix` and a set of custom resources. */
export class ResourceMap {
  private readonly bySegment = new Map<string, ResourceInfo>();
  private readonly all: ResourceInfo[] = [];
  readonly prefix: string;

  constructor(prefix = DEFAULT_ETCD_PREFIX, custom: ResourceInfo[] = []) {
    this.prefix = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
    for (const r of [...BUILTIN_RESOURCES, ...INTERNAL_RESOURCES, ...custom]) this.add(r);
  }

  add(r: ResourceInfo): void {
    if (!this.bySegment.has(r.segment)) this.bySegment.set(r.segment, r);
    this.all.push(r);
  }

  resources(): readonly ResourceInfo[] {
    return this.all;
  }

  /** The key prefix holding every object of `r` (with a trailing slash), optionally one namespace. */
  keyPrefix(r: ResourceInfo, namespace?: string): string {
    const base = `${this.prefix}/${r.segment}/`;
    return r.namespaced && namespace ? `${base}${namespace}/` : base;
  }

  /** The storage key of one object. */
  key(r: ResourceInfo, name: string, namespace?: string): string {
    return r.namespaced
      ? `${this.prefix}/${r.segment}/${namespace ?? ''}/${name}`
      : `${this.prefix}/${r.segment}/${name}`;
  }

  parse(key: string): ParsedKey {
    if (!key.startsWith(`${this.prefix}/`)) return { key, notObject: true };
    const rest = key.slice(this.prefix.length + 1).split('/');
    // Two-segment spaces first (services/specs, group/resource), then one-segment ones.
    if (rest.length >= 3) {
      const two = this.bySegment.get(`${rest[0]}/${rest[1]}`);
      if (two) return this.withName(key, two, rest.slice(2));
    }
    const one = this.bySegment.get(rest[0]!);
    if (one) return this.withName(key, one, rest.slice(1));
    // An unknown first segment containing a dot is a group: a custom resource or aggregated object.
    if (rest[0]!.includes('.') && rest.length >= 3) {
      const tail = rest.slice(2);
      const out: ParsedKey = { key, group: rest[0]!, resourceName: rest[1]! };
      if (tail.length >= 2) {
        out.namespace = tail[0]!;
        out.name = tail.slice(1).join('/');
      } else out.name = tail[0]!;
      return out;
    }
    const out: ParsedKey = { key, resourceName: rest[0]! };
    if (rest.length >= 3) {
      out.namespace = rest[1]!;
      out.name = rest.slice(2).join('/');
    } else if (rest.length === 2) out.name = rest[1]!;
    return out;
  }

  private withName(key: string, r: ResourceInfo, tail: string[]): ParsedKey {
    const out: ParsedKey = { key, resource: r, group: r.group, resourceName: r.resource };
    if (r.namespaced && tail.length >= 2) {
      out.namespace = tail[0]!;
      out.name = tail.slice(1).join('/');
    } else {
      out.name = tail.join('/');
    }
    return out;
  }

  /**
   * Resolves a name as kubectl accepts it: plural, singular, short name, Kind (any case), and any of them
   * qualified with `.group` (e.g. `deployments.apps`, `deploy.apps`).
   */
  /** The one resource `name` means, or UnknownResourceError naming the file to run api-resources on. */
  resolveOne(name: string, file: string): ResourceInfo {
    const r = this.resolve(name)[0];
    if (!r) throw new UnknownResourceError(name, file);
    return r;
  }

  resolve(name: string): ResourceInfo[] {
    const lower = name.toLowerCase();
    const matches = (r: ResourceInfo, n: string): boolean =>
      r.resource === n ||
      r.kind.toLowerCase() === n ||
      (r.singular ?? r.kind.toLowerCase()) === n ||
      r.shortNames.includes(n);
    let found = this.all.filter((r) => !r.internal && matches(r, lower));
    if (found.length === 0) {
      const dot = lower.indexOf('.');
      if (dot > 0) {
        const base = lower.slice(0, dot);
        const group = lower.slice(dot + 1);
        found = this.all.filter(
          (r) => !r.internal && matches(r, base) && (r.group === group || r.group.startsWith(`${group}.`)),
        );
      }
    }
    if (found.length > 1) {
      // kubectl prefers the core group, then the first match.
      const core = found.filter((r) => r.group === '');
      if (core.length > 0) return core.slice(0, 1);
      return found.slice(0, 1);
    }
    return found;
  }
}
