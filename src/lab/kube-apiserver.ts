/**
 * A real kube-apiserver against an EtcdCluster: serving certificate with the host's address, 127.0.0.1 and
 * the in-cluster names; an admin client certificate in system:masters; a service-account key pair; a
 * kubeconfig. Without kube-controller-manager the ServiceAccount admission plugin is off.
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { kubernetesBinaries, type KubernetesBinaries } from './binaries.js';
import type { EtcdCluster } from './etcd-cluster.js';
import { waitHealthy, type ClientTlsFiles } from './health.js';
import { type CertificateAuthority, writeCertKey } from './pki.js';
import { ManagedProcess } from './process.js';

export interface ApiServerOptions {
  dir: string;
  ip: string;
  port?: number;
  etcd: EtcdCluster;
  ca: CertificateAuthority;
  caFile: string;
  /** Keep ServiceAccount admission on (when a controller-manager runs). */
  serviceAccountAdmission?: boolean;
  extraArgs?: string[];
  startTimeoutMs?: number;
  /** Further IP SANs of the serving certificate (e.g. a load balancer in front of it). */
  extraIps?: string[];
  /** Keep certificates already in dir/pki (a lab restarted on its PKI) instead of issuing new ones. */
  reuseCertificates?: boolean;
  /** Validity of the certificates issued here (default 7 days; a lab that lives for months passes more). */
  certValidDays?: number;
  /** A service-account key pair shared by several apiservers (default: one generated in dir/pki). */
  serviceAccountKey?: { key: string; pub: string };
  /** --etcd-servers in this order (default: every endpoint of etcd). */
  etcdServers?: string[];
  /** Network namespace and hostname to run in (see ProcessSpec). */
  netns?: string;
  hostname?: string;
}

export class KubeApiServer {
  private constructor(
    readonly binaries: KubernetesBinaries,
    readonly url: string,
    readonly kubeconfig: string,
    readonly adminTls: ClientTlsFiles,
    readonly proc: ManagedProcess,
    readonly logFile: string,
  ) {}

  static async start(opts: ApiServerOptions): Promise<KubeApiServer> {
    const bins = kubernetesBinaries();
    const port = opts.port ?? 6443;
    const pki = join(opts.dir, 'pki');
    await fs.mkdir(pki, { recursive: true });
    const validity = opts.certValidDays ? { validDays: opts.certValidDays } : {};
    const certKey = async (name: string, issue: () => ReturnType<CertificateAuthority['issue']>) => {
      const kept = { cert: join(pki, `${name}.crt`), key: join(pki, `${name}.key`) };
      if (opts.reuseCertificates && existsSync(kept.cert) && existsSync(kept.key)) return kept;
      return writeCertKey(pki, name, await issue());
    };
    const serving = await certKey('kube-apiserver', () =>
      opts.ca.issue({
        commonName: 'kube-apiserver',
        ips: [opts.ip, '127.0.0.1', '10.0.0.1', ...(opts.extraIps ?? [])],
        dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'],
        server: true,
        ...validity,
      }),
    );
    const admin = await certKey('admin', () =>
      opts.ca.issue({ commonName: 'admin', organizations: ['system:masters'], client: true, ...validity }),
    );
    const etcdClient = await certKey('apiserver-etcd-client', () =>
      opts.ca.issue({ commonName: 'kube-apiserver-etcd-client', client: true, ...validity }),
    );
    let saKey = join(pki, 'sa.key');
    let saPub = join(pki, 'sa.pub');
    if (opts.serviceAccountKey) {
      ({ key: saKey, pub: saPub } = opts.serviceAccountKey);
    } else if (!(opts.reuseCertificates && existsSync(saKey) && existsSync(saPub))) {
      const sa = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      await fs.writeFile(saKey, sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
      await fs.writeFile(saPub, sa.publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
    }

    const url = `https://${opts.ip}:${port}`;
    const kubeconfig = join(opts.dir, 'kubeconfig');
    await fs.writeFile(
      kubeconfig,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'lifeboat', cluster: { server: url, 'certificate-authority': opts.caFile } }],
        users: [{ name: 'admin', user: { 'client-certificate': admin.cert, 'client-key': admin.key } }],
        contexts: [{ name: 'lifeboat', context: { cluster: 'lifeboat', user: 'admin' } }],
        'current-context': 'lifeboat',
      }),
      { mode: 0o600 },
    );
    const etcdTls = opts.etcd.clientTls;
    const args = [
      `--etcd-servers=${(opts.etcdServers ?? opts.etcd.endpoints).join(',')}`,
      ...(etcdTls
        ? [
            `--etcd-cafile=${opts.caFile}`,
            `--etcd-certfile=${etcdClient.cert}`,
            `--etcd-keyfile=${etcdClient.key}`,
          ]
        : []),
      `--bind-address=${opts.ip}`,
      `--advertise-address=${opts.ip}`,
      `--secure-port=${port}`,
      `--cert-dir=${pki}`,
      `--tls-cert-file=${serving.cert}`,
      `--tls-private-key-file=${serving.key}`,
      `--client-ca-file=${opts.caFile}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${saPub}`,
      `--service-account-signing-key-file=${saKey}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--authorization-mode=Node,RBAC',
      '--allow-privileged=true',
      '--endpoint-reconciler-type=none',
      ...(opts.serviceAccountAdmission ? [] : ['--disable-admission-plugins=ServiceAccount']),
      ...(opts.extraArgs ?? []),
    ];
    const logFile = join(opts.dir, 'kube-apiserver.log');
    const proc = ManagedProcess.start({
      name: 'kube-apiserver',
      command: bins.apiserver,
      args,
      logFile,
      ...(opts.netns ? { netns: opts.netns } : {}),
      ...(opts.hostname ? { hostname: opts.hostname } : {}),
    });
    const adminTls = { ca: opts.caFile, cert: admin.cert, key: admin.key };
    await waitHealthy(`${url}/readyz`, {
      tls: adminTls,
      timeoutMs: opts.startTimeoutMs ?? 60000,
      ok: (a) => a.status === 200,
      proc,
      what: `kube-apiserver ${bins.version}`,
    });
    return new KubeApiServer(bins, url, kubeconfig, adminTls, proc, logFile);
  }

  async stop(): Promise<void> {
    await this.proc.stop('SIGKILL');
  }
}
