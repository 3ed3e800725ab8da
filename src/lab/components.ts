/**
 * kube-controller-manager, kube-scheduler and kwok for a lab host: their client certificates and
 * kubeconfigs, serving certificates (so their /healthz is verified against the lab CA), flags (leader
 * election on, identity = the host name through the process's own hostname), and start.
 */
import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { KubernetesBinaries } from './binaries.js';
import type { ClientTlsFiles } from './health.js';
import { type CertificateAuthority, writeCertKey } from './pki.js';
import { KWOK_STAGES } from './kwok-stages.js';
import { ManagedProcess } from './process.js';
import { CONTROLLER_MANAGER_PORT, KWOK_PORT, SCHEDULER_PORT } from './topology.js';

/** Validity of every certificate of a lab (a lab may live for months; the harness's live for minutes). */
export const LAB_CERT_DAYS = 365;

export interface HostPlacement {
  host: string;
  ip: string;
  dir: string;
  netns?: string;
  /** The process's own hostname (a UTS namespace; root only): leader-election identities name the host. */
  hostname?: string;
}

export interface LabPki {
  ca: CertificateAuthority;
  caFile: string;
  caKeyFile: string;
  dir: string;
  saKey: string;
  saPub: string;
}

/** A certificate/key pair in pki.dir, issued once and kept. */
export async function keptCertKey(
  pki: LabPki,
  name: string,
  issue: () => ReturnType<CertificateAuthority['issue']>,
): Promise<{ cert: string; key: string }> {
  const kept = { cert: join(pki.dir, `${name}.crt`), key: join(pki.dir, `${name}.key`) };
  if (existsSync(kept.cert) && existsSync(kept.key)) return kept;
  return writeCertKey(pki.dir, name, await issue());
}

/** Writes a kubeconfig for one identity against `server`. */
export async function writeKubeconfig(
  path: string,
  server: string,
  caFile: string,
  client: { cert: string; key: string },
  user: string,
): Promise<string> {
  await fs.writeFile(
    path,
    `# written by lifeboat lab\n` +
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'lab', cluster: { server, 'certificate-authority': caFile } }],
        users: [{ name: user, user: { 'client-certificate': client.cert, 'client-key': client.key } }],
        contexts: [{ name: user, context: { cluster: 'lab', user } }],
        'current-context': user,
      }),
    { mode: 0o600 },
  );
  return path;
}

async function serving(pki: LabPki, h: HostPlacement, component: string) {
  return keptCertKey(pki, `${component}-${h.host}-serving`, () =>
    pki.ca.issue({
      commonName: `${component}-${h.host}`,
      ips: [h.ip, '127.0.0.1'],
      server: true,
      validDays: LAB_CERT_DAYS,
    }),
  );
}

const LEADER_ELECTION = ['15s', '10s', '2s'] as const; // lease duration, renew deadline, retry period

export interface Started {
  proc: ManagedProcess;
  healthUrl: string;
  tls?: ClientTlsFiles;
}

export async function startControllerManager(
  bins: KubernetesBinaries,
  pki: LabPki,
  h: HostPlacement,
  apiserverUrl: string,
): Promise<Started> {
  const client = await keptCertKey(pki, `kube-controller-manager-${h.host}`, () =>
    pki.ca.issue({ commonName: 'system:kube-controller-manager', client: true, validDays: LAB_CERT_DAYS }),
  );
  const kc = await writeKubeconfig(
    join(h.dir, 'kube-controller-manager.kubeconfig'),
    apiserverUrl,
    pki.caFile,
    client,
    'system:kube-controller-manager',
  );
  const cert = await serving(pki, h, 'kube-controller-manager');
  const args = [
    `--kubeconfig=${kc}`,
    `--authentication-kubeconfig=${kc}`,
    `--authorization-kubeconfig=${kc}`,
    `--bind-address=${h.ip}`,
    `--secure-port=${CONTROLLER_MANAGER_PORT}`,
    `--tls-cert-file=${cert.cert}`,
    `--tls-private-key-file=${cert.key}`,
    '--leader-elect=true',
    `--leader-elect-lease-duration=${LEADER_ELECTION[0]}`,
    `--leader-elect-renew-deadline=${LEADER_ELECTION[1]}`,
    `--leader-elect-retry-period=${LEADER_ELECTION[2]}`,
    `--service-account-private-key-file=${pki.saKey}`,
    `--root-ca-file=${pki.caFile}`,
    `--cluster-signing-cert-file=${pki.caFile}`,
    `--cluster-signing-key-file=${pki.caKeyFile}`,
    '--service-cluster-ip-range=10.0.0.0/24',
    '--use-service-account-credentials=true',
    '--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics',
  ];
  const proc = ManagedProcess.start({
    name: `kube-controller-manager ${h.host}`,
    command: bins.controllerManager,
    args,
    logFile: join(h.dir, 'kube-controller-manager.log'),
    ...(h.hostname ? { hostname: h.hostname } : {}),
    ...(h.netns ? { netns: h.netns } : {}),
  });
  return { proc, healthUrl: `https://${h.ip}:${CONTROLLER_MANAGER_PORT}/healthz` };
}

export async function startScheduler(
  bins: KubernetesBinaries,
  pki: LabPki,
  h: HostPlacement,
  apiserverUrl: string,
): Promise<Started> {
  const client = await keptCertKey(pki, `kube-scheduler-${h.host}`, () =>
    pki.ca.issue({ commonName: 'system:kube-scheduler', client: true, validDays: LAB_CERT_DAYS }),
  );
  const kc = await writeKubeconfig(
    join(h.dir, 'kube-scheduler.kubeconfig'),
    apiserverUrl,
    pki.caFile,
    client,
    'system:kube-scheduler',
  );
  const config = join(h.dir, 'kube-scheduler.yaml');
  await fs.writeFile(
    config,
    `# written by lifeboat lab\n` +
      stringify({
        apiVersion: 'kubescheduler.config.k8s.io/v1',
        kind: 'KubeSchedulerConfiguration',
        clientConnection: { kubeconfig: kc },
        leaderElection: {
          leaderElect: true,
          leaseDuration: LEADER_ELECTION[0],
          renewDeadline: LEADER_ELECTION[1],
          retryPeriod: LEADER_ELECTION[2],
        },
      }),
  );
  const cert = await serving(pki, h, 'kube-scheduler');
  const args = [
    `--config=${config}`,
    `--authentication-kubeconfig=${kc}`,
    `--authorization-kubeconfig=${kc}`,
    `--bind-address=${h.ip}`,
    `--secure-port=${SCHEDULER_PORT}`,
    `--tls-cert-file=${cert.cert}`,
    `--tls-private-key-file=${cert.key}`,
    '--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics',
  ];
  const proc = ManagedProcess.start({
    name: `kube-scheduler ${h.host}`,
    command: bins.scheduler,
    args,
    logFile: join(h.dir, 'kube-scheduler.log'),
    ...(h.hostname ? { hostname: h.hostname } : {}),
    ...(h.netns ? { netns: h.netns } : {}),
  });
  return { proc, healthUrl: `https://${h.ip}:${SCHEDULER_PORT}/healthz` };
}

/** One kwok per worker host, keeping the Node of the host's name alive and running its pods. */
export async function startKwok(
  kwok: string,
  pki: LabPki,
  h: HostPlacement,
  balancerUrl: string,
  index: number,
): Promise<Started> {
  const client = await keptCertKey(pki, `kwok-${h.host}`, () =>
    pki.ca.issue({
      commonName: `kwok-${h.host}`,
      organizations: ['system:masters'],
      client: true,
      validDays: LAB_CERT_DAYS,
    }),
  );
  const kc = await writeKubeconfig(join(h.dir, 'kwok.kubeconfig'), balancerUrl, pki.caFile, client, 'kwok');
  const args = [
    `--kubeconfig=${kc}`,
    `--manage-single-node=${h.host}`,
    `--node-ip=${h.ip}`,
    '--node-port=10250',
    `--cidr=10.244.${index}.0/24`,
    '--node-lease-duration-seconds=40',
    `--server-address=${h.ip}:${KWOK_PORT}`,
    `--config=${join(h.dir, 'kwok-stages.yaml')}`,
  ];
  await fs.writeFile(join(h.dir, 'kwok-stages.yaml'), KWOK_STAGES);
  const proc = ManagedProcess.start({
    name: `kwok ${h.host}`,
    command: kwok,
    args,
    logFile: join(h.dir, 'kwok.log'),
    ...(h.hostname ? { hostname: h.hostname } : {}),
    ...(h.netns ? { netns: h.netns } : {}),
  });
  return { proc, healthUrl: `http://${h.ip}:${KWOK_PORT}/healthz` };
}

/** A Node object for a kwok-run worker (kwok fills in its conditions and heartbeats). */
export function nodeManifest(name: string, ip: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        type: 'kwok',
      },
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
    },
    status: {
      allocatable: { cpu: '16', memory: '64Gi', pods: '110' },
      capacity: { cpu: '16', memory: '64Gi', pods: '110' },
      addresses: [{ type: 'InternalIP', address: ip }],
    },
  };
}
