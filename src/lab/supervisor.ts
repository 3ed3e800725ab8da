/**
 * The lab supervisor: one detached process per running lab that owns every process of the lab (each runs
 * under `setpriv --pdeathsig KILL`, so all die with it, even when it is SIGKILLed), runs the load balancer,
 * keeps state.json current and answers the control socket (control.ts). `lab up` starts it; `lab down`
 * asks it to stop everything and exit.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, promises as fs, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { LifeboatError, NotFoundError, RefusedError, UsageError } from '../util/errors.js';
import { allocateBlock, type AddressBlock } from './address-block.js';
import { TcpBalancer } from './balancer.js';
import { kubernetesBinaries, kwokBinary, type KubernetesBinaries } from './binaries.js';
import {
  keptCertKey,
  nodeManifest,
  startControllerManager,
  startKwok,
  startScheduler,
  writeKubeconfig,
  type HostPlacement,
  type LabPki,
  LAB_CERT_DAYS,
} from './components.js';
import { serve, socketPath, type LabRequest } from './control.js';
import { EtcdCluster } from './etcd-cluster.js';
import { httpGet, httpPost, waitHealthy, type ClientTlsFiles } from './health.js';
import { KubeApiServer } from './kube-apiserver.js';
import {
  files,
  readConfig,
  takeLock,
  writeConfig,
  writeState,
  type LabConfig,
  type ProcRecord,
  type ProcState,
} from './lab-files.js';
import {
  healHost,
  netnsName,
  partitionHost,
  setupNetwork,
  subnetInUse,
  teardownNetwork,
  type LabNetwork,
} from './netns.js';
import { identify, type ProcessIdentity } from './proc-identity.js';
import type { ManagedProcess } from './process.js';
import { CertificateAuthority } from './pki.js';
import {
  APISERVER_PORT,
  COMPONENTS,
  CONTROLLER_MANAGER_PORT,
  GATEWAY_HOST,
  isComponent,
  KWOK_PORT,
  networkPrefix,
  planHosts,
  SCHEDULER_PORT,
  type Component,
  type HostPlan,
} from './topology.js';

interface HostRt extends HostPlacement {
  plan: HostPlan;
}

interface CompRt {
  host: HostRt;
  component: Component;
  state: ProcState;
  proc?: ManagedProcess;
  identity?: ProcessIdentity;
  address: string;
  logFile: string;
  /** Restarts after unexpected exits since the last operator action (for the backoff). */
  restarts?: number;
  /** A pending restart after an unexpected exit; an operator action cancels it. */
  restartTimer?: NodeJS.Timeout;
}

/** Backoff before restarting a component that exited on its own: 1 s, 2 s, 4 s … at most 30 s. */
export function restartDelayMs(restarts: number): number {
  return Math.min(30000, 1000 * 2 ** Math.min(restarts, 5));
}

export interface ComponentStatus {
  host: string;
  component: Component;
  address: string;
  state: ProcState;
  pid?: number;
  healthy: boolean;
  leader: boolean;
  detail?: string;
}

export interface LabStatus {
  name: string;
  dir: string;
  topology: string;
  network: string;
  balancer: string;
  kubeconfig: string;
  backends: Record<string, boolean>;
  partitioned: string[];
  etcdLeader?: string;
  controllerManagerLeader?: string;
  schedulerLeader?: string;
  components: ComponentStatus[];
}

const HEALTH_TIMEOUT_MS = 1500;

function run(cmd: string, args: string[], input?: string, timeoutMs = 60000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 1 << 26 }, (err, stdout, stderr) => {
      if (err) reject(new LifeboatError(`${cmd} ${args.join(' ')}: ${(stderr || err.message).trim()}`));
      else resolve(stdout);
    });
    child.stdin?.end(input ?? '');
  });
}

export class Supervisor {
  private comps: CompRt[] = [];
  private hosts: HostRt[] = [];
  private partitioned = new Set<string>();
  private etcd?: EtcdCluster;
  private balancer?: TcpBalancer;
  private block?: AddressBlock;
  private server?: Server;
  private unlock?: () => void;
  private pki?: LabPki;
  private adminTls?: ClientTlsFiles;
  private etcdClientTls?: ClientTlsFiles;
  private bins?: KubernetesBinaries;
  private kwok?: string;
  private gateway = '';
  private writing: Promise<void> = Promise.resolve();
  private phase: 'starting' | 'ready' | 'failed' | 'down' = 'starting';
  private error: string | undefined;
  private upMs: number | undefined;
  private busy: Promise<unknown> = Promise.resolve();
  private shuttingDown = false;

  private constructor(
    readonly dir: string,
    private config: LabConfig,
    /** Called with the exit code once the lab is down (the entry ends the process there). */
    private readonly onDown: (code: number) => void,
  ) {}

  private log(msg: string): void {
    process.stderr.write(`${new Date().toISOString()} ${msg}\n`);
  }

  private get net(): LabNetwork {
    return {
      id: this.config.id,
      prefix: this.config.prefix!,
      hosts: this.hosts.map((h) => ({ name: h.host, ip: h.ip })),
    };
  }

  /**
   * Runs the supervisor of the lab in `dir` until `lab down`, a signal, or its owner process exits; then
   * calls `onDown` with the exit code.
   */
  static async run(dir: string, onDown: (code: number) => void, ownerPid?: number): Promise<void> {
    const config = readConfig(dir);
    if (!config) throw new NotFoundError(`lab configuration ${files(dir).config}`);
    const s = new Supervisor(dir, config, onDown);
    s.unlock = takeLock(dir);
    // The control socket answers from the start, so `lab status` and `lab down` work while it comes up.
    await s.listen();
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void s.shutdown(0));
    if (ownerPid) {
      const t = setInterval(() => {
        try {
          process.kill(ownerPid, 0);
        } catch {
          s.log(`owner process ${ownerPid} is gone: taking the lab down`);
          clearInterval(t);
          void s.shutdown(0);
        }
      }, 500);
    }
    const started = Date.now();
    try {
      await s.bringUp();
      s.upMs = Date.now() - started;
      s.phase = 'ready';
      s.log(`lab ready in ${s.upMs} ms`);
      await s.persist();
    } catch (err) {
      s.phase = 'failed';
      s.error = (err as Error).message;
      s.log(`lab failed to start: ${s.error}`);
      await s.persist();
      await s.shutdown(1, 'failed');
    }
  }

  private async bringUp(): Promise<void> {
    const c = this.config;
    const netns = c.network === 'netns';
    const root = process.getuid?.() === 0;
    this.block = allocateBlock('lab', {
      ...(c.blockPrefix ? { prefix: c.blockPrefix } : {}),
      ...(netns ? { accept: (p: string) => !subnetInUse(networkPrefix(p, 'netns')) } : {}),
    });
    if (!c.blockPrefix) {
      c.blockPrefix = this.block.prefix;
      c.prefix = networkPrefix(this.block.prefix, c.network);
      await writeConfig(this.dir, c);
    }
    const prefix = c.prefix!;
    this.gateway = `${prefix}.${GATEWAY_HOST}`;
    this.hosts = planHosts(c.shape).map((plan) => {
      const dir = files(this.dir).host(plan.name);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      return {
        plan,
        host: plan.name,
        ip: `${prefix}.${plan.n}`,
        dir,
        ...(netns ? { netns: netnsName(c.id, plan.name) } : {}),
        ...(root ? { hostname: plan.name } : {}),
      };
    });
    for (const h of this.hosts) {
      for (const component of h.plan.components) {
        const port = {
          etcd: 2379,
          'kube-apiserver': APISERVER_PORT,
          'kube-controller-manager': CONTROLLER_MANAGER_PORT,
          'kube-scheduler': SCHEDULER_PORT,
          kwok: KWOK_PORT,
        }[component];
        this.comps.push({
          host: h,
          component,
          state: 'stopped',
          address: `${h.ip}:${port}`,
          logFile: join(h.dir, `${component}.log`),
        });
      }
    }
    if (netns) {
      this.log(`network: bridge ${prefix}.1/24 and ${this.hosts.length} namespaces`);
      setupNetwork(this.net);
    }
    await this.preparePki();
    await this.persist();

    // etcd: every member at once (a new cluster forms only when a quorum is up).
    const etcdHosts = this.hosts.filter((h) => h.plan.components.includes('etcd'));
    this.etcd = await EtcdCluster.start({
      members: etcdHosts.length,
      dir: this.dir,
      memberSpecs: etcdHosts.map((h) => ({
        name: h.host,
        ip: h.ip,
        dataDir: join(h.dir, 'etcd'),
        logFile: join(h.dir, 'etcd.log'),
        ...(h.hostname ? { hostname: h.hostname } : {}),
        ...(h.netns ? { netns: h.netns } : {}),
      })),
      ...(c.tls ? { ca: this.pki!.ca, caFile: this.pki!.caFile } : {}),
      tls: c.tls,
      minor: c.etcdMinor,
      clusterToken: `lifeboat-lab-${c.id}`,
      reuseCertificates: true,
      certValidDays: LAB_CERT_DAYS,
      startMembers: false,
    });
    this.etcdClientTls = this.etcd.clientTls;
    const etcdComps = this.comps.filter((x) => x.component === 'etcd');
    for (const x of etcdComps) if (this.wiped(x)) x.state = 'wiped';
    await Promise.all(
      etcdComps.filter((x) => x.state !== 'wiped').map((x) => this.startComp(x, !c.initialized)),
    );
    if (!c.initialized) {
      c.initialized = true;
      await writeConfig(this.dir, c);
    }
    await Promise.all(
      this.comps.filter((x) => x.component === 'kube-apiserver').map((x) => this.startComp(x)),
    );
    this.balancer = await TcpBalancer.start({
      host: this.gateway,
      port: APISERVER_PORT,
      backends: this.hosts
        .filter((h) => h.plan.components.includes('kube-apiserver'))
        .map((h) => ({ name: h.host, host: h.ip, port: APISERVER_PORT })),
      check: async (b) =>
        (await httpGet(`https://${b.host}:${b.port}/readyz`, this.adminTls, 1000)).status === 200,
    });
    this.log(`load balancer on ${this.balancer.address}`);
    const rest = this.comps.filter((x) =>
      ['kube-controller-manager', 'kube-scheduler', 'kwok'].includes(x.component),
    );
    await Promise.all([this.applyNodes(), ...rest.map((x) => this.startComp(x))]);
  }

  private wiped(x: CompRt): boolean {
    return (
      x.component === 'etcd' && !!this.config.initialized && !existsSync(join(x.host.dir, 'etcd', 'member'))
    );
  }

  private async preparePki(): Promise<void> {
    const dir = files(this.dir).pki;
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const caFile = join(dir, 'ca.crt');
    const caKeyFile = join(dir, 'ca.key');
    let ca: CertificateAuthority;
    if (existsSync(caFile) && existsSync(caKeyFile)) {
      ca = await CertificateAuthority.load(readFileSync(caFile, 'utf8'), readFileSync(caKeyFile, 'utf8'));
    } else {
      ca = await CertificateAuthority.create(`lifeboat-lab-${this.config.name}-ca`, LAB_CERT_DAYS);
      await fs.writeFile(caKeyFile, ca.keyPem, { mode: 0o600 });
      await fs.writeFile(caFile, ca.certPem, { mode: 0o644 });
    }
    const saKey = join(dir, 'sa.key');
    const saPub = join(dir, 'sa.pub');
    if (!existsSync(saKey) || !existsSync(saPub)) {
      const sa = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      await fs.writeFile(saKey, sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
      await fs.writeFile(saPub, sa.publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
    }
    this.pki = { ca, caFile, caKeyFile, dir, saKey, saPub };
    const admin = await keptCertKey(this.pki, 'admin', () =>
      ca.issue({
        commonName: 'lifeboat-admin',
        organizations: ['system:masters'],
        client: true,
        validDays: LAB_CERT_DAYS,
      }),
    );
    this.adminTls = { ca: caFile, ...admin };
    await writeKubeconfig(
      files(this.dir).kubeconfig,
      `https://${this.gateway}:${APISERVER_PORT}`,
      caFile,
      admin,
      'admin',
    );
    this.bins = kubernetesBinaries();
    this.kwok = kwokBinary();
  }

  private async applyNodes(): Promise<void> {
    const workers = this.hosts.filter((h) => h.plan.components.includes('kwok'));
    if (!workers.length) return;
    const docs = workers.map((h) => stringify(nodeManifest(h.host, h.ip))).join('---\n');
    await run(this.bins!.kubectl, ['--kubeconfig', files(this.dir).kubeconfig, 'apply', '-f', '-'], docs);
  }

  private apiserverFor(h: HostRt): string {
    return `https://${h.ip}:${APISERVER_PORT}`;
  }

  /** Starts one component that is not running and waits until it is healthy. */
  private async startComp(x: CompRt, newCluster = false): Promise<void> {
    if (x.proc?.running) return;
    if (x.state === 'wiped' || this.wiped(x)) {
      x.state = 'wiped';
      throw new RefusedError(
        `etcd member ${x.host.host} lost its data directory (${join(x.host.dir, 'etcd')}): a member cannot rejoin with an empty data directory under its old identity; replace it instead (etcdctl member remove, then member add and start it with --initial-cluster-state=existing)`,
      );
    }
    x.state = 'starting';
    const h = x.host;
    const started = Date.now();
    switch (x.component) {
      case 'etcd': {
        const m = this.etcd!.startMember(h.host, newCluster ? 'new' : 'existing');
        x.proc = m.proc;
        await this.etcd!.waitMember(m);
        break;
      }
      case 'kube-apiserver': {
        const members = this.etcd!.members;
        const local = members.filter((m) => m.name === h.host);
        const api = await KubeApiServer.start({
          dir: h.dir,
          ip: h.ip,
          etcd: this.etcd!,
          ca: this.pki!.ca,
          caFile: this.pki!.caFile,
          serviceAccountAdmission: true,
          extraIps: [this.gateway],
          reuseCertificates: true,
          certValidDays: LAB_CERT_DAYS,
          serviceAccountKey: { key: this.pki!.saKey, pub: this.pki!.saPub },
          etcdServers: [...local, ...members.filter((m) => m.name !== h.host)].map((m) => m.clientUrl),
          ...(h.hostname ? { hostname: h.hostname } : {}),
          ...(h.netns ? { netns: h.netns } : {}),
        });
        x.proc = api.proc;
        break;
      }
      case 'kube-controller-manager':
      case 'kube-scheduler':
      case 'kwok': {
        const st =
          x.component === 'kwok'
            ? await startKwok(
                this.kwok!,
                this.pki!,
                h,
                `https://${this.gateway}:${APISERVER_PORT}`,
                h.plan.n - 30,
              )
            : x.component === 'kube-scheduler'
              ? await startScheduler(this.bins!, this.pki!, h, this.apiserverFor(h))
              : await startControllerManager(this.bins!, this.pki!, h, this.apiserverFor(h));
        x.proc = st.proc;
        await waitHealthy(st.healthUrl, {
          ...(st.healthUrl.startsWith('https') ? { tls: this.adminTls! } : {}),
          timeoutMs: 60000,
          ok: (a) => a.status === 200,
          proc: st.proc,
          what: `${x.component} on ${h.host}`,
        });
        break;
      }
    }
    if (x.state !== 'starting') {
      // Stopped, killed or wiped by the operator while it was starting (a restart racing `lab stop`):
      // the operator's word holds.
      await x.proc?.stop(x.state === 'killed' ? 'SIGKILL' : 'SIGTERM', 10000);
      return;
    }
    x.state = 'running';
    x.identity = identify(x.proc!.pid);
    const proc = x.proc!;
    void proc.exited.then(() => {
      if (x.proc === proc && x.state === 'running') {
        x.state = 'exited';
        void this.persist();
        this.restartLater(x);
      }
    });
    this.log(`${x.component} on ${h.host} (${x.address}) up in ${Date.now() - started} ms, pid ${proc.pid}`);
  }

  /**
   * A component that exits on its own (not through kill/stop/wipe) is restarted with backoff, as kubelet
   * restarts static pods and systemd units with Restart=always: kube-controller-manager and kube-scheduler
   * exit by design when they lose their leader lease. Operator-injected failures stay as injected.
   */
  private restartLater(x: CompRt): void {
    const delay = restartDelayMs(x.restarts ?? 0);
    x.restarts = (x.restarts ?? 0) + 1;
    this.log(`${x.component} on ${x.host.host} exited on its own; restarting in ${delay} ms`);
    if (x.restartTimer) clearTimeout(x.restartTimer);
    x.restartTimer = setTimeout(() => {
      x.restartTimer = undefined;
      if (this.shuttingDown || x.state !== 'exited') return;
      this.startComp(x).catch((err: unknown) => {
        this.log(`restart of ${x.component} on ${x.host.host} failed: ${(err as Error).message}`);
        // Only a restart that nobody has overridden (lab stop/kill/wipe set their own state) tries again.
        if (x.state === 'starting' || x.state === 'exited') {
          x.state = 'exited';
          this.restartLater(x);
        }
      });
    }, delay);
    x.restartTimer.unref();
  }

  private async stopComp(x: CompRt, how: 'kill' | 'stop'): Promise<void> {
    x.restarts = 0;
    if (x.restartTimer) {
      clearTimeout(x.restartTimer);
      x.restartTimer = undefined;
    }
    const injected = how === 'kill' ? 'killed' : 'stopped';
    if (x.proc?.running) {
      x.state = injected;
      await x.proc.stop(how === 'kill' ? 'SIGKILL' : 'SIGTERM', 10000);
    } else if (x.state === 'running' || x.state === 'starting' || x.state === 'exited') {
      // Also a component that had exited on its own: the operator's stop/kill now holds, no restart.
      x.state = injected;
    }
  }

  private select(req: LabRequest): CompRt[] {
    if (!req.host)
      throw new UsageError(
        `lab ${req.op}: a host is required (one of ${this.hosts.map((h) => h.host).join(', ')})`,
      );
    const host = this.hosts.find((h) => h.host === req.host);
    if (!host)
      throw new NotFoundError(
        `host ${req.host}`,
        `this lab (hosts: ${this.hosts.map((h) => h.host).join(', ')})`,
      );
    if (req.component !== undefined && !isComponent(req.component)) {
      throw new UsageError(`unknown component '${req.component}'; expected one of ${COMPONENTS.join(', ')}`);
    }
    const picked = this.comps.filter(
      (x) => x.host === host && (!req.component || x.component === req.component),
    );
    if (!picked.length) throw new NotFoundError(`component ${req.component} on host ${req.host}`);
    return picked;
  }

  private async handle(req: LabRequest): Promise<unknown> {
    if (req.op === 'status') return this.status();
    if (req.op === 'down') {
      setImmediate(() => void this.shutdown(0));
      return { stopping: true };
    }
    if (this.phase !== 'ready')
      throw new RefusedError(`the lab is ${this.phase}${this.error ? `: ${this.error}` : ''}`);
    // Changes run one at a time.
    const next = this.busy.then(() => this.change(req));
    this.busy = next.catch(() => undefined);
    return next;
  }

  private async change(req: LabRequest): Promise<unknown> {
    const order = (xs: CompRt[]) =>
      [...xs].sort((a, b) => COMPONENTS.indexOf(a.component) - COMPONENTS.indexOf(b.component));
    try {
      switch (req.op) {
        case 'kill':
        case 'stop': {
          const xs = order(this.select(req)).reverse();
          for (const x of xs) await this.stopComp(x, req.op);
          return {
            [req.op === 'kill' ? 'killed' : 'stopped']: xs.map((x) => `${x.host.host}/${x.component}`),
          };
        }
        case 'start': {
          const xs = order(this.select(req));
          for (const x of xs) if (x.state === 'wiped' || this.wiped(x)) await this.startComp(x); // refuses
          for (const x of xs) await this.startComp(x);
          return { started: xs.map((x) => `${x.host.host}/${x.component}`) };
        }
        case 'up': {
          const xs = order(this.comps.filter((x) => !x.proc?.running && x.state !== 'wiped'));
          for (const comp of COMPONENTS)
            await Promise.all(xs.filter((x) => x.component === comp).map((x) => this.startComp(x)));
          return { started: xs.map((x) => `${x.host.host}/${x.component}`) };
        }
        case 'wipe': {
          const xs = order(this.select(req)).reverse();
          for (const x of xs) await this.stopComp(x, 'kill');
          const host = xs[0]!.host;
          await fs.rm(join(host.dir, 'etcd'), { recursive: true, force: true });
          for (const x of xs) if (x.component === 'etcd') x.state = 'wiped';
          return { wiped: host.host, removed: join(host.dir, 'etcd') };
        }
        case 'partition':
        case 'heal': {
          if (this.config.network !== 'netns') {
            throw new RefusedError(
              `lab ${req.op} needs a lab started with --network netns: with --network loopback every host shares the machine's loopback interface, so traffic between two hosts cannot be cut`,
            );
          }
          const host = this.select({ ...req, component: undefined })[0]!.host.host;
          if (req.op === 'partition') {
            partitionHost(this.net, host);
            this.partitioned.add(host);
          } else {
            healHost(this.net, host);
            this.partitioned.delete(host);
            for (const other of this.partitioned) partitionHost(this.net, other);
          }
          return {
            [req.op === 'partition' ? 'partitioned' : 'healed']: host,
            partitioned: [...this.partitioned],
          };
        }
        default:
          throw new UsageError(`unknown lab operation '${String(req.op)}'`);
      }
    } finally {
      await this.persist();
    }
  }

  private async etcdStatus(): Promise<{ leader?: string; healthy: Map<string, boolean> }> {
    const healthy = new Map<string, boolean>();
    let leader: string | undefined;
    await Promise.all(
      (this.etcd?.members ?? []).map(async (m) => {
        try {
          const h = await httpGet(`${m.clientUrl}/health`, this.etcdClientTls, HEALTH_TIMEOUT_MS);
          healthy.set(m.name, h.status === 200 && /"health":\s*"true"/.test(h.body));
          const st = await httpPost(
            `${m.clientUrl}/v3/maintenance/status`,
            {},
            this.etcdClientTls,
            HEALTH_TIMEOUT_MS,
          );
          const body = JSON.parse(st.body) as { header?: { member_id?: string }; leader?: string };
          if (body.leader && body.leader !== '0' && body.leader === body.header?.member_id) leader = m.name;
        } catch {
          healthy.set(m.name, false);
        }
      }),
    );
    return { ...(leader ? { leader } : {}), healthy };
  }

  private async leaseHolder(name: string): Promise<string | undefined> {
    try {
      const a = await httpGet(
        `https://${this.gateway}:${APISERVER_PORT}/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/${name}`,
        this.adminTls,
        HEALTH_TIMEOUT_MS * 2,
      );
      if (a.status !== 200) return undefined;
      const holder = (JSON.parse(a.body) as { spec?: { holderIdentity?: string } }).spec?.holderIdentity;
      return holder?.split('_')[0];
    } catch {
      return undefined;
    }
  }

  async status(): Promise<LabStatus> {
    const [etcd, kcm, sched] = await Promise.all([
      this.etcdStatus(),
      this.leaseHolder('kube-controller-manager'),
      this.leaseHolder('kube-scheduler'),
    ]);
    const health = async (x: CompRt): Promise<boolean> => {
      if (!x.proc?.running) return false;
      const ip = x.host.ip;
      try {
        switch (x.component) {
          case 'etcd':
            return etcd.healthy.get(x.host.host) ?? false;
          case 'kube-apiserver':
            return (
              (await httpGet(`https://${ip}:${APISERVER_PORT}/readyz`, this.adminTls, HEALTH_TIMEOUT_MS))
                .status === 200
            );
          case 'kube-controller-manager':
            return (
              (
                await httpGet(
                  `https://${ip}:${CONTROLLER_MANAGER_PORT}/healthz`,
                  this.adminTls,
                  HEALTH_TIMEOUT_MS,
                )
              ).status === 200
            );
          case 'kube-scheduler':
            return (
              (await httpGet(`https://${ip}:${SCHEDULER_PORT}/healthz`, this.adminTls, HEALTH_TIMEOUT_MS))
                .status === 200
            );
          case 'kwok':
            return (
              (await httpGet(`http://${ip}:${KWOK_PORT}/healthz`, undefined, HEALTH_TIMEOUT_MS)).status ===
              200
            );
        }
      } catch {
        return false;
      }
    };
    const leaderOf: Partial<Record<Component, string | undefined>> = {
      etcd: etcd.leader,
      'kube-controller-manager': kcm,
      'kube-scheduler': sched,
    };
    const components = await Promise.all(
      this.comps.map(async (x): Promise<ComponentStatus> => ({
        host: x.host.host,
        component: x.component,
        address: x.address,
        state: x.state,
        ...(x.proc?.running ? { pid: x.proc.pid } : {}),
        healthy: await health(x),
        leader: leaderOf[x.component] === x.host.host,
      })),
    );
    return {
      name: this.config.name,
      dir: this.dir,
      topology: this.config.shape.topology,
      network: this.config.network,
      balancer: `https://${this.gateway}:${APISERVER_PORT}`,
      kubeconfig: files(this.dir).kubeconfig,
      backends: this.balancer?.readiness() ?? {},
      partitioned: [...this.partitioned],
      ...(etcd.leader ? { etcdLeader: etcd.leader } : {}),
      ...(kcm ? { controllerManagerLeader: kcm } : {}),
      ...(sched ? { schedulerLeader: sched } : {}),
      components,
    };
  }

  private records(): ProcRecord[] {
    return this.comps.map((x) => ({
      host: x.host.host,
      component: x.component,
      address: x.address,
      state: x.state,
      ...(x.proc?.running && x.identity ? { identity: x.identity } : {}),
      logFile: x.logFile,
    }));
  }

  private persist(): Promise<void> {
    const me = identify(process.pid);
    const snapshot = {
      phase: this.phase,
      ...(this.error ? { error: this.error } : {}),
      ...(me ? { supervisor: me } : {}),
      ...(this.gateway ? { balancer: `https://${this.gateway}:${APISERVER_PORT}` } : {}),
      kubeconfig: files(this.dir).kubeconfig,
      partitioned: [...this.partitioned],
      processes: this.records(),
      ...(this.upMs !== undefined ? { upMs: this.upMs } : {}),
      updatedAt: new Date().toISOString(),
    };
    this.writing = this.writing
      .then(() => writeState(this.dir, snapshot))
      .catch((err: unknown) => {
        this.log(`could not write state.json: ${(err as Error).message}`);
      });
    return this.writing;
  }

  /** Stops every process, removes the network, releases the address block and the lock, and exits. */
  async shutdown(code: number, phase: 'down' | 'failed' = 'down'): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.log('taking the lab down');
    const order = [...COMPONENTS].reverse();
    for (const comp of order) {
      await Promise.all(
        this.comps
          .filter((x) => x.component === comp)
          .map(async (x) => {
            const keep = x.state;
            // SIGKILL loses nothing here: what etcd wrote is in the page cache, and a lab is not a crash test.
            await this.stopComp(x, 'kill');
            x.state = keep === 'wiped' ? 'wiped' : 'stopped';
          }),
      );
    }
    await this.balancer?.close().catch(() => undefined);
    if (this.config.network === 'netns' && this.config.prefix) teardownNetwork(this.net);
    this.block?.release();
    this.server?.close();
    rmSync(socketPath(this.dir), { force: true });
    this.phase = phase;
    await this.persist();
    this.unlock?.();
    this.log('lab down');
    this.onDown(code);
  }

  async listen(): Promise<void> {
    this.server = await serve(this.dir, (req) => this.handle(req));
  }
}
