/**
 * A real etcd cluster of 1, 3 or 5 members on one address block: member i listens on 127.X.Y.(10+i),
 * client port 2379, peer port 2380. TLS by default, with client-certificate auth on both client and peer
 * ports, from one generated CA.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressBlock } from './address-block.js';
import { etcdBinaries, type EtcdBinaries, type EtcdMinor } from './binaries.js';
import { waitHealthy, type ClientTlsFiles } from './health.js';
import { type CertificateAuthority, writeCertKey } from './pki.js';
import { ManagedProcess } from './process.js';

export interface EtcdClusterOptions {
  members: number;
  dir: string;
  /** Where members listen (host 10+i); not needed when memberSpecs gives every address. */
  block?: AddressBlock;
  /** Members by name and address, with optional placement (default: m1..mN on block.host(10+i)). */
  memberSpecs?: EtcdMemberSpec[];
  /** --initial-cluster-token (default lifeboat-harness). */
  clusterToken?: string;
  /** Keep member and client certificates that already exist in dir/pki (a lab restarted on its PKI). */
  reuseCertificates?: boolean;
  /** Validity of the certificates issued here (default 7 days; a lab that lives for months passes more). */
  certValidDays?: number;
  /** Spawn every member as a new cluster and wait until healthy (default true); false only prepares. */
  startMembers?: boolean;
  /** Required when tls is on (the default). */
  ca?: CertificateAuthority;
  caFile?: string;
  tls?: boolean;
  minor?: EtcdMinor;
  /** Extra flags for every member, e.g. --max-request-bytes=10485760. */
  extraArgs?: string[];
  startTimeoutMs?: number;
}

export interface EtcdMemberSpec {
  name: string;
  ip: string;
  dataDir?: string;
  logFile?: string;
  /** Network namespace and hostname the member runs in (see ProcessSpec). */
  netns?: string;
  hostname?: string;
}

export interface EtcdMember {
  name: string;
  ip: string;
  netns?: string;
  hostname?: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  logFile: string;
  proc?: ManagedProcess;
}

export class EtcdCluster {
  private constructor(
    readonly binaries: EtcdBinaries,
    readonly members: EtcdMember[],
    readonly clientTls: ClientTlsFiles | undefined,
    private readonly args: (m: EtcdMember, state: 'new' | 'existing') => string[],
    private readonly startTimeoutMs: number,
  ) {}

  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  static async start(opts: EtcdClusterOptions): Promise<EtcdCluster> {
    if (![1, 3, 5].includes(opts.members))
      throw new Error(`etcd cluster size must be 1, 3 or 5, got ${opts.members}`);
    const tls = opts.tls ?? true;
    const bins = etcdBinaries(opts.minor ?? '3.6');
    const scheme = tls ? 'https' : 'http';
    const pki = join(opts.dir, 'pki');
    mkdirSync(pki, { recursive: true });
    const specs: EtcdMemberSpec[] =
      opts.memberSpecs ??
      Array.from({ length: opts.members }, (_, k) => {
        if (!opts.block) throw new Error('EtcdCluster.start: needs block or memberSpecs');
        return { name: `m${k + 1}`, ip: opts.block.host(11 + k) };
      });
    if (specs.length !== opts.members)
      throw new Error(`EtcdCluster.start: ${specs.length} member specs for ${opts.members} members`);
    const members: EtcdMember[] = specs.map((sp) => ({
      name: sp.name,
      ip: sp.ip,
      ...(sp.netns ? { netns: sp.netns } : {}),
      ...(sp.hostname ? { hostname: sp.hostname } : {}),
      clientUrl: `${scheme}://${sp.ip}:2379`,
      peerUrl: `${scheme}://${sp.ip}:2380`,
      dataDir: sp.dataDir ?? join(opts.dir, `etcd-${sp.name}`),
      logFile: sp.logFile ?? join(opts.dir, `etcd-${sp.name}.log`),
    }));
    const reuse = (name: string): { cert: string; key: string } | undefined => {
      const files = { cert: join(pki, `${name}.crt`), key: join(pki, `${name}.key`) };
      return opts.reuseCertificates && existsSync(files.cert) && existsSync(files.key) ? files : undefined;
    };
    let clientTls: ClientTlsFiles | undefined;
    const memberTls = new Map<string, { cert: string; key: string }>();
    if (tls) {
      if (!opts.ca || !opts.caFile) throw new Error('EtcdCluster.start: tls needs ca and caFile');
      const validity = opts.certValidDays ? { validDays: opts.certValidDays } : {};
      for (const m of members) {
        const kept = reuse(`etcd-${m.name}`);
        if (kept) {
          memberTls.set(m.name, kept);
          continue;
        }
        const pair = await opts.ca.issue({
          commonName: `etcd-${m.name}`,
          ips: [m.ip, '127.0.0.1'],
          dnsNames: ['localhost'],
          server: true,
          client: true,
          ...validity,
        });
        memberTls.set(m.name, await writeCertKey(pki, `etcd-${m.name}`, pair));
      }
      const files =
        reuse('etcd-client') ??
        (await writeCertKey(
          pki,
          'etcd-client',
          await opts.ca.issue({ commonName: 'root', client: true, ...validity }),
        ));
      clientTls = { ca: opts.caFile, ...files };
    }
    const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
    const noFsync = bins.minor === '3.4' ? [] : ['--unsafe-no-fsync'];
    const args = (m: EtcdMember, state: 'new' | 'existing'): string[] => {
      const a = [
        `--name=${m.name}`,
        `--data-dir=${m.dataDir}`,
        `--listen-client-urls=${m.clientUrl}`,
        `--advertise-client-urls=${m.clientUrl}`,
        `--listen-peer-urls=${m.peerUrl}`,
        `--initial-advertise-peer-urls=${m.peerUrl}`,
        `--initial-cluster=${initialCluster}`,
        `--initial-cluster-state=${state}`,
        `--initial-cluster-token=${opts.clusterToken ?? 'lifeboat-harness'}`,
        ...noFsync,
        ...(opts.extraArgs ?? []),
      ];
      if (tls) {
        const t = memberTls.get(m.name)!;
        a.push(
          `--cert-file=${t.cert}`,
          `--key-file=${t.key}`,
          `--trusted-ca-file=${opts.caFile}`,
          '--client-cert-auth',
          `--peer-cert-file=${t.cert}`,
          `--peer-key-file=${t.key}`,
          `--peer-trusted-ca-file=${opts.caFile}`,
          '--peer-client-cert-auth',
        );
      }
      return a;
    };
    const cluster = new EtcdCluster(bins, members, clientTls, args, opts.startTimeoutMs ?? 30000);
    if (opts.startMembers === false) return cluster;
    for (const m of members) cluster.spawn(m, 'new');
    await Promise.all(members.map((m) => cluster.waitMember(m)));
    return cluster;
  }

  private spawn(m: EtcdMember, state: 'new' | 'existing'): void {
    m.proc = ManagedProcess.start({
      name: `etcd ${m.name}`,
      command: this.binaries.etcd,
      args: this.args(m, state),
      logFile: m.logFile,
      ...(m.netns ? { netns: m.netns } : {}),
      ...(m.hostname ? { hostname: m.hostname } : {}),
    });
  }

  /**
   * Spawns one member that is not running: 'new' when the whole cluster is being formed, 'existing' on its
   * data directory. Does not wait (see waitMember).
   */
  startMember(nameOrIndex: string | number, state: 'new' | 'existing'): EtcdMember {
    const m = this.member(nameOrIndex);
    if (!m.proc?.running) this.spawn(m, state);
    return m;
  }

  /** Waits until the member reports itself healthy (which needs a quorum). */
  waitMember(m: EtcdMember): Promise<void> {
    return waitHealthy(`${m.clientUrl}/health`, {
      ...(this.clientTls ? { tls: this.clientTls } : {}),
      timeoutMs: this.startTimeoutMs,
      ok: (a) => a.status === 200 && /"health":\s*"true"/.test(a.body),
      ...(m.proc ? { proc: m.proc } : {}),
      what: `etcd member ${m.name} (${this.binaries.version})`,
    });
  }

  member(nameOrIndex: string | number): EtcdMember {
    const m =
      typeof nameOrIndex === 'number'
        ? this.members[nameOrIndex]
        : this.members.find((x) => x.name === nameOrIndex);
    if (!m) throw new Error(`no etcd member ${nameOrIndex}`);
    return m;
  }

  /** SIGKILLs a member and waits until it is reaped. Its data directory stays. */
  async kill(nameOrIndex: string | number): Promise<void> {
    await this.member(nameOrIndex).proc?.stop('SIGKILL');
  }

  /** Starts a stopped member again on its existing data and waits for the cluster to report it healthy. */
  async restart(nameOrIndex: string | number, waitHealthyToo = true): Promise<void> {
    const m = this.member(nameOrIndex);
    if (m.proc?.running) return;
    this.spawn(m, 'existing');
    if (waitHealthyToo) await this.waitMember(m);
  }

  pids(): number[] {
    return this.members.flatMap((m) => (m.proc?.running ? [m.proc.pid] : []));
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.proc?.stop('SIGKILL')));
  }
}
