/**
 * A broad corpus of Kubernetes objects, created through a real kube-apiserver with kubectl: every built-in
 * kind the apiserver persists and accepts without controllers, objects exercising the special types
 * (quantities, int-or-strings, times, micro-times, raw extensions, binary Secret data, large annotations),
 * a CRD with a structural schema and status subresource plus custom resources, and an APIService.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Harness } from '../../../src/lab/harness.js';

/** kube-apiserver flags for the corpus: no compaction, every API group and feature on. */
export const CORPUS_APISERVER_ARGS = [
  '--etcd-compaction-interval=0',
  '--runtime-config=api/all=true',
  '--feature-gates=AllAlpha=true,AllBeta=true',
];

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function kubectl(h: Harness, args: string[], input?: string): Promise<Run> {
  const api = h.apiserver!;
  return new Promise((resolve) => {
    const child = execFile(
      api.binaries.kubectl,
      ['--kubeconfig', api.kubeconfig, ...args],
      { timeout: 120000, maxBuffer: 1 << 28 },
      (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

function run(cmd: string, args: string[]): Promise<Run> {
  return new Promise((resolve) =>
    execFile(cmd, args, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr })),
  );
}

/** A PEM certificate request and a self-signed CA certificate, made with openssl. */
async function pems(): Promise<{ csr: string; cert: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-corpus-'));
  try {
    const key = join(dir, 'k.pem');
    const a = await run('openssl', [
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-subj',
      '/CN=corpus-user/O=corpus',
      '-out',
      join(dir, 'r.csr'),
    ]);
    if (a.code !== 0) throw new Error(`openssl req: ${a.stderr}`);
    const b = await run('openssl', [
      'req',
      '-x509',
      '-new',
      '-key',
      key,
      '-subj',
      '/CN=corpus-ca',
      '-days',
      '30',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-out',
      join(dir, 'c.pem'),
    ]);
    if (b.code !== 0) throw new Error(`openssl x509: ${b.stderr}`);
    return { csr: readFileSync(join(dir, 'r.csr'), 'utf8'), cert: readFileSync(join(dir, 'c.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');

function indent(text: string, n: number): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => ' '.repeat(n) + l)
    .join('\n');
}

/** The manifests, as one multi-document YAML. */
export async function corpusYaml(): Promise<string> {
  const { csr, cert } = await pems();
  const big = 'x'.repeat(200_000);
  const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  return `
apiVersion: v1
kind: Namespace
metadata: {name: corpus, labels: {team: storage}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: corpus
  labels: {app: web, tier: frontend, "10": ten, "2": two}
  annotations: {big: "${big}", note: "ünïcödé ✓ <&>"}
data: {mode: blue, "empty": "", "10": ten, "2": two, "__proto__": proto}
binaryData: {blob: ${b64(binary)}}
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: corpus}
type: Opaque
data: {bin: ${b64(binary)}, empty: ""}
stringData: {password: s3cr3t}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: builder, namespace: corpus}
automountServiceAccountToken: false
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: corpus}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
  - {name: metrics, port: 9090, targetPort: 9091, protocol: TCP}
---
apiVersion: v1
kind: Service
metadata: {name: nodeport, namespace: corpus}
spec:
  type: NodePort
  sessionAffinity: ClientIP
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 300}}
  ports: [{port: 443, targetPort: 8443, nodePort: 30443}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: manual, namespace: corpus}
subsets:
- addresses: [{ip: 10.1.2.3, hostname: a}]
  ports: [{name: p, port: 8080, protocol: TCP}]
---
apiVersion: v1
kind: Pod
metadata: {name: web-0, namespace: corpus, labels: {app: web}}
spec:
  terminationGracePeriodSeconds: 5
  activeDeadlineSeconds: 2147483647
  priority: 0
  containers:
  - name: app
    image: registry.example/web:1.0
    ports: [{name: http, containerPort: 8080}]
    resources:
      requests: {cpu: 250m, memory: 64Mi, ephemeral-storage: 1G}
      limits: {cpu: "1.5", memory: 128974848}
    livenessProbe:
      httpGet: {path: /healthz, port: http}
      initialDelaySeconds: 3
    readinessProbe:
      tcpSocket: {port: 8080}
    env:
    - {name: A, value: "1"}
    - name: B
      valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}
  tolerations:
  - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 300}
  volumes:
  - name: cfg
    configMap: {name: settings, defaultMode: 0644}
  - name: scratch
    emptyDir: {sizeLimit: 500Mi}
---
apiVersion: v1
kind: PodTemplate
metadata: {name: tmpl, namespace: corpus}
template:
  metadata: {labels: {app: tmpl}}
  spec:
    containers: [{name: c, image: busybox}]
---
apiVersion: v1
kind: ReplicationController
metadata: {name: rc, namespace: corpus}
spec:
  replicas: 0
  selector: {app: rc}
  template:
    metadata: {labels: {app: rc}}
    spec: {containers: [{name: c, image: busybox}]}
---
apiVersion: v1
kind: LimitRange
metadata: {name: limits, namespace: corpus}
spec:
  limits:
  - type: Container
    default: {cpu: 500m, memory: 1Gi}
    defaultRequest: {cpu: 100m}
    maxLimitRequestRatio: {cpu: "10"}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: quota, namespace: corpus}
spec:
  hard: {pods: "10", requests.cpu: "4", requests.memory: 8Gi, count/configmaps: "1k"}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-1}
spec:
  capacity: {storage: 10Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: /tmp/pv-1}
  storageClassName: standard
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: corpus}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
  storageClassName: standard
---
apiVersion: v1
kind: Node
metadata: {name: node-1, labels: {kubernetes.io/hostname: node-1}}
spec:
  podCIDR: 10.244.0.0/24
  taints: [{key: dedicated, value: db, effect: NoSchedule}]
---
apiVersion: v1
kind: Event
metadata: {name: web-0.1, namespace: corpus}
involvedObject: {kind: Pod, name: web-0, namespace: corpus, apiVersion: v1}
reason: Started
message: started container
type: Normal
count: 3
firstTimestamp: "2024-01-02T03:04:05Z"
lastTimestamp: "2024-01-02T03:05:05Z"
source: {component: kubelet, host: node-1}
---
apiVersion: events.k8s.io/v1
kind: Event
metadata: {name: web-0.2, namespace: corpus}
eventTime: "2024-01-02T03:04:05.123456Z"
reportingController: example.com/ctl
reportingInstance: ctl-1
action: Scheduled
reason: Scheduled
type: Normal
note: placed
regarding: {kind: Pod, name: web-0, namespace: corpus}
series: {count: 2, lastObservedTime: "2024-01-02T03:04:06.654321Z"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: corpus, annotations: {deployment.kubernetes.io/revision: "1"}}
spec:
  replicas: 0
  revisionHistoryLimit: 3
  selector: {matchLabels: {app: web}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 25%, maxUnavailable: 1}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: web:1, resources: {requests: {cpu: "0.1"}}}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: corpus}
spec:
  serviceName: db
  replicas: 0
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: db:1}]}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 5Gi}}}
  persistentVolumeClaimRetentionPolicy: {whenDeleted: Delete, whenScaled: Retain}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: corpus}
spec:
  selector: {matchLabels: {app: agent}}
  updateStrategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 10%}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: a, image: agent:1}]}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web-abc, namespace: corpus}
spec:
  replicas: 0
  selector: {matchLabels: {app: rs}}
  template:
    metadata: {labels: {app: rs}}
    spec: {containers: [{name: c, image: c:1}]}
---
apiVersion: apps/v1
kind: ControllerRevision
metadata: {name: db-1, namespace: corpus}
revision: 9007199254740993
data: {spec: {template: {metadata: {labels: {app: db}}}}, big: 12345678901234567, list: [1, 2.5, "x", null, true]}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: corpus}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 5
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}
  - type: Pods
    pods: {metric: {name: qps}, target: {type: AverageValue, averageValue: 1500m}}
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 120
      policies: [{type: Percent, value: 10, periodSeconds: 60}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: once, namespace: corpus}
spec:
  suspend: true
  backoffLimit: 2
  ttlSecondsAfterFinished: 100
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox, command: [sh, -c, "echo hi"]}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: corpus}
spec:
  schedule: "0 3 * * *"
  timeZone: Etc/UTC
  suspend: true
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: c, image: busybox}]
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: nginx}
spec: {controller: example.com/ingress}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: corpus}
spec:
  ingressClassName: nginx
  rules:
  - host: web.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
      - {path: /m, pathType: Exact, backend: {service: {name: web, port: {name: metrics}}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: corpus}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress, Egress]
  ingress:
  - ports: [{port: http}, {port: 8080, endPort: 8090, protocol: TCP}]
    from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: corpus}
spec: {minAvailable: 50%, selector: {matchLabels: {app: web}}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: db, namespace: corpus}
spec: {maxUnavailable: 1, selector: {matchLabels: {app: db}}, unhealthyPodEvictionPolicy: AlwaysAllow}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: corpus}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get, list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader, namespace: corpus}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects: [{kind: ServiceAccount, name: builder, namespace: corpus}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: corpus-aggregate}
aggregationRule: {clusterRoleSelectors: [{matchLabels: {corpus: "true"}}]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: corpus-binding}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}]
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: standard}
provisioner: example.com/hostpath
reclaimPolicy: Delete
volumeBindingMode: WaitForFirstConsumer
allowVolumeExpansion: true
parameters: {type: fast}
---
apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata: {name: csi.example.com}
spec: {attachRequired: true, podInfoOnMount: false, fsGroupPolicy: File, volumeLifecycleModes: [Persistent], tokenRequests: [{audience: vault, expirationSeconds: 3600}]}
---
apiVersion: storage.k8s.io/v1
kind: CSINode
metadata: {name: node-1}
spec:
  drivers: [{name: csi.example.com, nodeID: node-1, topologyKeys: [zone], allocatable: {count: 8}}]
---
apiVersion: storage.k8s.io/v1
kind: VolumeAttachment
metadata: {name: va-1}
spec: {attacher: csi.example.com, nodeName: node-1, source: {persistentVolumeName: pv-1}}
---
apiVersion: storage.k8s.io/v1
kind: CSIStorageCapacity
metadata: {name: cap-1, namespace: corpus}
storageClassName: standard
capacity: 100Gi
maximumVolumeSize: 2Ti
nodeTopology: {matchLabels: {zone: a}}
---
apiVersion: storage.k8s.io/v1
kind: VolumeAttributesClass
metadata: {name: gold}
driverName: csi.example.com
parameters: {iops: "3000"}
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 1000000
preemptionPolicy: Never
description: high priority
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: leader, namespace: corpus}
spec:
  holderIdentity: ctl-1
  leaseDurationSeconds: 15
  acquireTime: "2024-01-02T03:04:05.000001Z"
  renewTime: "2024-01-02T03:04:20.999999Z"
  leaseTransitions: 2
---
apiVersion: coordination.k8s.io/v1beta1
kind: LeaseCandidate
metadata: {name: cand, namespace: corpus}
spec:
  leaseName: leader
  binaryVersion: 1.34.0
  emulationVersion: 1.34.0
  strategy: OldestEmulationVersion
  renewTime: "2024-01-02T03:04:20.123456Z"
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: corpus, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints:
- addresses: [10.1.2.3]
  conditions: {ready: true, serving: true, terminating: false}
  nodeName: node-1
  hints: {forZones: [{name: a}]}
ports: [{name: http, port: 8080, protocol: TCP}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: corpus-validate}
webhooks:
- name: validate.corpus.example.com
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: Ignore
  timeoutSeconds: 2
  clientConfig: {url: "https://127.0.0.1:1/validate", caBundle: ${b64(cert)}}
  rules: [{apiGroups: [corpus.invalid], apiVersions: [v1], operations: [CREATE], resources: [nothing], scope: "*"}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: corpus-mutate}
webhooks:
- name: mutate.corpus.example.com
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: Ignore
  reinvocationPolicy: IfNeeded
  clientConfig: {service: {name: hook, namespace: corpus, path: /m, port: 8443}}
  rules: [{apiGroups: [corpus.invalid], apiVersions: [v1], operations: [CREATE], resources: [nothing]}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: max-replicas}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules: [{apiGroups: [corpus.invalid], apiVersions: [v1], operations: [CREATE], resources: [nothing]}]
  validations: [{expression: "object.spec.replicas <= 5", message: too many}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: max-replicas}
spec: {policyName: max-replicas, validationActions: [Deny]}
---
apiVersion: admissionregistration.k8s.io/v1beta1
kind: MutatingAdmissionPolicy
metadata: {name: add-label}
spec:
  matchConstraints:
    resourceRules: [{apiGroups: [corpus.invalid], apiVersions: [v1], operations: [CREATE], resources: [nothing]}]
  failurePolicy: Ignore
  reinvocationPolicy: Never
  mutations:
  - patchType: ApplyConfiguration
    applyConfiguration: {expression: 'Object{metadata: Object.metadata{labels: {"x": "y"}}}'}
---
apiVersion: admissionregistration.k8s.io/v1beta1
kind: MutatingAdmissionPolicyBinding
metadata: {name: add-label}
spec: {policyName: add-label}
---
apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata: {name: corpus-user}
spec:
  request: ${b64(csr)}
  signerName: example.com/signer
  expirationSeconds: 86400
  usages: [client auth, digital signature]
---
apiVersion: certificates.k8s.io/v1beta1
kind: ClusterTrustBundle
metadata: {name: "example.com:signer:ca1"}
spec:
  signerName: example.com/signer
  trustBundle: |
${indent(cert, 4)}
---
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: PriorityLevelConfiguration
metadata: {name: corpus}
spec:
  type: Limited
  limited:
    nominalConcurrencyShares: 5
    lendablePercent: 10
    limitResponse: {type: Queue, queuing: {queues: 4, handSize: 2, queueLengthLimit: 10}}
---
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: FlowSchema
metadata: {name: corpus}
spec:
  priorityLevelConfiguration: {name: corpus}
  matchingPrecedence: 5000
  distinguisherMethod: {type: ByUser}
  rules:
  - subjects: [{kind: User, user: {name: alice}}]
    resourceRules: [{verbs: [get], apiGroups: [""], resources: [configmaps], namespaces: ["*"]}]
---
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: gvisor}
handler: runsc
overhead: {podFixed: {cpu: 250m, memory: 120Mi}}
scheduling: {nodeSelector: {sandbox: "true"}, tolerations: [{key: sandbox, operator: Exists}]}
---
apiVersion: resource.k8s.io/v1
kind: DeviceClass
metadata: {name: gpu.example.com}
spec:
  selectors: [{cel: {expression: 'device.driver == "gpu.example.com"'}}]
---
apiVersion: resource.k8s.io/v1
kind: ResourceClaim
metadata: {name: gpu, namespace: corpus}
spec:
  devices:
    requests: [{name: g, exactly: {deviceClassName: gpu.example.com, allocationMode: ExactCount, count: 2}}]
---
apiVersion: resource.k8s.io/v1
kind: ResourceClaimTemplate
metadata: {name: gpu, namespace: corpus}
spec:
  spec:
    devices:
      requests: [{name: g, exactly: {deviceClassName: gpu.example.com}}]
---
apiVersion: resource.k8s.io/v1
kind: ResourceSlice
metadata: {name: node-1-gpu}
spec:
  driver: gpu.example.com
  nodeName: node-1
  pool: {name: node-1, generation: 1, resourceSliceCount: 1}
  devices:
  - name: gpu-0
    attributes: {model: {string: a100}, index: {int: 0}, ok: {bool: true}, v: {version: 1.2.3}}
    capacity: {memory: {value: 40Gi}}
---
apiVersion: resource.k8s.io/v1alpha3
kind: DeviceTaintRule
metadata: {name: drain-gpu}
spec:
  deviceSelector: {driver: gpu.example.com, pool: node-1}
  taint: {key: maintenance, value: "true", effect: NoExecute}
---
apiVersion: storagemigration.k8s.io/v1alpha1
kind: StorageVersionMigration
metadata: {name: migrate-cm}
spec: {resource: {group: "", version: v1, resource: configmaps}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.corpus.example.com}
spec:
  group: corpus.example.com
  names: {kind: Widget, plural: widgets, singular: widget, shortNames: [wd], listKind: WidgetList, categories: [all]}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}, scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}}
    additionalPrinterColumns:
    - {name: Size, type: string, jsonPath: .spec.size}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas, priority: 1}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: string, enum: [S, M, L]}
              replicas: {type: integer, default: 1, minimum: 0}
              weight: {type: number}
              big: {type: integer, format: int64}
              limits: {type: object, additionalProperties: {anyOf: [{type: integer}, {type: string}], x-kubernetes-int-or-string: true}}
              free: {type: object, x-kubernetes-preserve-unknown-fields: true}
              when: {type: string, format: date-time}
          status:
            type: object
            properties:
              replicas: {type: integer}
              phase: {type: string}
  - name: v1beta1
    served: true
    storage: false
    deprecated: true
    deprecationWarning: use v1
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.corpus.example.com}
spec:
  group: corpus.example.com
  names: {kind: Gadget, plural: gadgets}
  scope: Cluster
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`;
}

/** Custom resources, created once their CRDs are established. */
export const CUSTOM_RESOURCES_YAML = `
apiVersion: corpus.example.com/v1
kind: Widget
metadata: {name: w1, namespace: corpus, labels: {app: web}}
spec: {size: M, replicas: 3, weight: 0.25, big: 9007199254740993, limits: {cpu: 2, mem: 1Gi}, free: {nested: {a: [1, "b", null, 1.5e300]}}, when: "2024-01-02T03:04:05Z"}
---
apiVersion: corpus.example.com/v1
kind: Widget
metadata: {name: w2, namespace: corpus}
spec: {size: S}
---
apiVersion: corpus.example.com/v1
kind: Gadget
metadata: {name: g1}
anything: {goes: here, n: -12, b: {"10": 1, "2": 2, "__proto__": {q: 1}, a: 3}, "\ue000": 1, "\u{1F600}": 2}
`;

export const APISERVICE_YAML = `
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1alpha1.corpus.example.org}
spec:
  group: corpus.example.org
  version: v1alpha1
  groupPriorityMinimum: 1000
  versionPriority: 15
  insecureSkipTLSVerify: true
  service: {name: ext, namespace: corpus, port: 443}
`;

/** Creates the corpus; returns kubectl's complaints (empty when all went in). */
export async function createCorpus(h: Harness): Promise<void> {
  const yaml = await corpusYaml();
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-corpus-'));
  try {
    const file = join(dir, 'corpus.yaml');
    writeFileSync(file, yaml);
    // Server-side apply keeps the 200 kB annotation out of last-applied-configuration.
    const a = await kubectl(h, ['apply', '--server-side', '-f', file]);
    if (a.code !== 0) throw new Error(`kubectl apply corpus: ${a.stderr}`);
    const w = await kubectl(h, [
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd/widgets.corpus.example.com',
      'crd/gadgets.corpus.example.com',
    ]);
    if (w.code !== 0) throw new Error(`kubectl wait crd: ${w.stderr}`);
    writeFileSync(file, CUSTOM_RESOURCES_YAML);
    const c = await kubectl(h, ['create', '-f', file]);
    if (c.code !== 0) throw new Error(`kubectl create custom resources: ${c.stderr}`);
    const s = await kubectl(h, [
      '-n',
      'corpus',
      'patch',
      'widget',
      'w1',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"replicas":3,"phase":"Ready"}}',
    ]);
    if (s.code !== 0) throw new Error(`kubectl patch status: ${s.stderr}`);
    // A client-side apply, so a Secret carries kubectl.kubernetes.io/last-applied-configuration.
    const sec = `apiVersion: v1\nkind: Secret\nmetadata: {name: applied, namespace: corpus}\nstringData: {token: plain-text-token}\n`;
    writeFileSync(file, sec);
    const p = await kubectl(h, ['apply', '-f', file]);
    if (p.code !== 0) throw new Error(`kubectl apply secret: ${p.stderr}`);
    writeFileSync(file, APISERVICE_YAML);
    const s2 = await kubectl(h, ['apply', '-f', file]);
    if (s2.code !== 0) throw new Error(`kubectl apply apiservice: ${s2.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
