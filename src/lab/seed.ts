/**
 * `lab seed`: a realistic workload created through the API with kubectl, so drills have something to lose:
 * namespaces, Deployments whose pods kwok runs, Services, ConfigMaps, Secrets, a CRD with custom resources,
 * a PodDisruptionBudget, and RBAC (ServiceAccount, Role, RoleBinding, ClusterRole, ClusterRoleBinding).
 * Every object carries the label lifeboat.dev/seed=true. Idempotent (kubectl apply).
 */
import { execFile } from 'node:child_process';
import { stringify } from 'yaml';
import { ConnectionError, LifeboatError } from '../util/errors.js';
import { kubernetesBinaries } from './binaries.js';
import { files, labDir, readState } from './lab-files.js';

export const SEED_LABEL = 'lifeboat.dev/seed';

export interface SeedResult {
  objects: string[];
  expectedPods: number;
  runningPods: number;
  ms: number;
}

type Obj = Record<string, unknown> & { kind: string; metadata: { name: string; namespace?: string } };

const labels = { [SEED_LABEL]: 'true' };

function meta(name: string, namespace?: string, extra: Record<string, string> = {}) {
  return { name, ...(namespace ? { namespace } : {}), labels: { ...labels, ...extra } };
}

function deployment(ns: string, name: string, replicas: number, image: string, configMap?: string): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(name, ns, { app: name }),
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { ...labels, app: name } },
        spec: {
          containers: [
            {
              name,
              image,
              ports: [{ containerPort: 8080 }],
              ...(configMap ? { envFrom: [{ configMapRef: { name: configMap } }] } : {}),
            },
          ],
        },
      },
    },
  };
}

function service(ns: string, name: string): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(name, ns),
    spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
  };
}

export const SEED_CRD: Obj = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: meta('drillschedules.lifeboat.dev'),
  spec: {
    group: 'lifeboat.dev',
    scope: 'Namespaced',
    names: { plural: 'drillschedules', singular: 'drillschedule', kind: 'DrillSchedule', shortNames: ['ds'] },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                properties: {
                  schedule: { type: 'string' },
                  scenario: { type: 'string' },
                  retain: { type: 'integer' },
                },
              },
            },
          },
        },
      },
    ],
  },
};

/** The seeded objects, CRD first. */
export function seedObjects(): Obj[] {
  const objs: Obj[] = [];
  for (const ns of ['shop', 'billing', 'monitoring']) {
    objs.push({ apiVersion: 'v1', kind: 'Namespace', metadata: meta(ns) });
  }
  objs.push(
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta('app-config', 'shop'),
      data: {
        MODE: 'production',
        FEATURE_CHECKOUT_V2: 'true',
        'settings.yaml': 'currency: EUR\nretries: 3\n',
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: meta('db-credentials', 'shop'),
      type: 'Opaque',
      stringData: { username: 'shop', password: 'lab-only-not-a-real-password' },
    },
    deployment('shop', 'web', 3, 'registry.example/shop/web:1.4.2', 'app-config'),
    deployment('shop', 'api', 2, 'registry.example/shop/api:2.0.1', 'app-config'),
    service('shop', 'web'),
    service('shop', 'api'),
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: meta('web', 'shop'),
      spec: { minAvailable: 2, selector: { matchLabels: { app: 'web' } } },
    },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('deployer', 'shop') },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta('deployer', 'shop'),
      rules: [
        {
          apiGroups: ['apps'],
          resources: ['deployments'],
          verbs: ['get', 'list', 'watch', 'update', 'patch'],
        },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta('deployer', 'shop'),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'deployer' },
      subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: 'shop' }],
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta('invoicer-config', 'billing'),
      data: { SCHEDULE: '0 2 * * *', TAX_RATE: '0.19' },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: meta('payment-gateway', 'billing'),
      type: 'Opaque',
      stringData: { apiKey: 'lab-only-key' },
    },
    deployment('billing', 'invoicer', 2, 'registry.example/billing/invoicer:0.9.0', 'invoicer-config'),
    service('billing', 'invoicer'),
    deployment('monitoring', 'exporter', 1, 'registry.example/monitoring/exporter:3.1.0'),
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: meta('lab-auditor'),
      rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['get', 'list', 'watch'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: meta('lab-auditor'),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'lab-auditor' },
      subjects: [{ kind: 'Group', name: 'auditors', apiGroup: 'rbac.authorization.k8s.io' }],
    },
    {
      apiVersion: 'lifeboat.dev/v1',
      kind: 'DrillSchedule',
      metadata: meta('nightly-etcd-loss', 'shop'),
      spec: { schedule: '0 3 * * *', scenario: 'single etcd failure', retain: 7 },
    },
    {
      apiVersion: 'lifeboat.dev/v1',
      kind: 'DrillSchedule',
      metadata: meta('weekly-full-restore', 'billing'),
      spec: { schedule: '0 4 * * 0', scenario: 'cluster completely destroyed', retain: 4 },
    },
  );
  return objs;
}

function kubectl(kubectlBin: string, kubeconfig: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      kubectlBin,
      ['--kubeconfig', kubeconfig, '--request-timeout=20s', ...args],
      { timeout: 90000, maxBuffer: 1 << 26 },
      (err, stdout, stderr) => {
        if (err) reject(new LifeboatError(`kubectl ${args.join(' ')}: ${(stderr || err.message).trim()}`));
        else resolve(stdout);
      },
    );
    child.stdin?.end(input ?? '');
  });
}

/** Applies the seed workload to a running lab and waits (up to timeoutMs) for its pods to run. */
export async function seedLab(o: { name?: string; dir?: string; timeoutMs?: number }): Promise<SeedResult> {
  const t0 = Date.now();
  const dir = labDir(o);
  const st = readState(dir);
  if (!st || st.phase !== 'ready') throw new ConnectionError(dir, 'the lab is not running (lifeboat lab up)');
  const kc = st.kubeconfig ?? files(dir).kubeconfig;
  const bin = kubernetesBinaries().kubectl;
  const objs = seedObjects();
  const yaml = (xs: Obj[]) => xs.map((x) => stringify(x)).join('---\n');
  await kubectl(bin, kc, ['apply', '-f', '-'], yaml([SEED_CRD]));
  await kubectl(bin, kc, [
    'wait',
    '--for=condition=Established',
    '--timeout=30s',
    'crd/drillschedules.lifeboat.dev',
  ]);
  // Namespaces first, then the rest; kubectl retries nothing itself, so a short retry covers the
  // moment after a CRD is established and before its discovery is served.
  await kubectl(bin, kc, ['apply', '-f', '-'], yaml(objs.filter((x) => x.kind === 'Namespace')));
  const rest = objs.filter((x) => x.kind !== 'Namespace');
  for (let attempt = 0; ; attempt++) {
    try {
      await kubectl(bin, kc, ['apply', '-f', '-'], yaml(rest));
      break;
    } catch (err) {
      if (attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  const expectedPods = rest
    .filter((x) => x.kind === 'Deployment')
    .reduce((n, x) => n + ((x as unknown as { spec: { replicas: number } }).spec.replicas ?? 0), 0);
  let runningPods = 0;
  const deadline = Date.now() + (o.timeoutMs ?? 60000);
  while (Date.now() < deadline) {
    const pods = JSON.parse(
      await kubectl(bin, kc, ['get', 'pods', '-A', '-l', `${SEED_LABEL}=true`, '-o', 'json']),
    ) as { items: Array<{ status?: { phase?: string } }> };
    runningPods = pods.items.filter((p) => p.status?.phase === 'Running').length;
    if (runningPods >= expectedPods) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const objects = [SEED_CRD, ...objs].map(
    (x) => `${x.kind}/${x.metadata.namespace ? `${x.metadata.namespace}/` : ''}${x.metadata.name}`,
  );
  return { objects, expectedPods, runningPods, ms: Date.now() - t0 };
}
