/**
 * A real kube-apiserver against an EtcdCluster: serving certificate with the host's address, 127.0.0.1 and
 * the in-cluster names; an admin client certificate in system:masters; a service-account key pair; a
 * kubeconfig. Without kube-controller-manager the ServiceAccount admission plugin is off.
 */
import { generateKeyPairSync } from 'node:crypto';
import { promises as fs } from 'node:fs';
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
    const serving = await writeCertKey(
      pki,
      'kube-apiserver',
      await opts.ca.issue({
        commonName: 'kube-apiserver',
        ips: [opts.ip, '127.0.0.1', '10.0.0.1'],
        dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'],
        server: true,
      }),
    );
    const admin = await writeCertKey(
      pki,
      'admin',
      await opts.ca.issue({ commonName: 'admin', organizations: ['system:masters'], client: true }),
    );
    const etcdClient = await writeCertKey(
      pki,
      'apiserver-etcd-client',
      await opts.ca.issue({ commonName: 'kube-apiserver-etcd-client', client: true }),
    );
    const sa = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const saKey = join(pki, 'sa.key');
    const saPub = join(pki, 'sa.pub');
    await fs.writeFile(saKey, sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    await fs.writeFile(saPub, sa.publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });

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
      `--etcd-servers=${opts.etcd.endpoints.join(',')}`,
      ...(etcdTls
        ? [`--etcd-cafile=${opts.caFile}`, `--etcd-certfile=${etcdClient.cert}`, `--etcd-keyfile=${etcdClient.key}`]
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
    const proc = ManagedProcess.start({ name: 'kube-apiserver', command: bins.apiserver, args, logFile });
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
