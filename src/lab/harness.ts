/**
 * The test harness: a real etcd cluster (1, 3 or 5 members, TLS by default) and optionally a real
 * kube-apiserver on it, on an address block of its own, in a directory of its own. stop() kills and reaps
 * everything and releases the block; children also die with this process (pdeathsig), and if this process
 * is orphaned (its parent, e.g. a test runner, was killed) the children are killed too.
 */
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onCleanup, runCleanups } from '../util/cleanup.js';
import { allocateBlock, type AddressBlock } from './address-block.js';
import type { EtcdMinor } from './binaries.js';
import { EtcdCluster } from './etcd-cluster.js';
import { KubeApiServer } from './kube-apiserver.js';
import { CertificateAuthority } from './pki.js';

export interface HarnessOptions {
  etcdMembers?: 1 | 3 | 5;
  etcdMinor?: EtcdMinor;
  tls?: boolean;
  apiserver?: boolean;
  /** Defaults to a fresh temporary directory, removed by stop(). */
  dir?: string;
  etcdArgs?: string[];
  apiserverArgs?: string[];
}

export class Harness {
  private stopped = false;
  private constructor(
    readonly dir: string,
    private readonly ownsDir: boolean,
    readonly block: AddressBlock,
    readonly caFile: string,
    readonly etcd: EtcdCluster,
    readonly apiserver: KubeApiServer | undefined,
    private readonly unregister: () => void,
    private readonly watchdog: NodeJS.Timeout,
  ) {}

  static async start(opts: HarnessOptions = {}): Promise<Harness> {
    const ownsDir = !opts.dir;
    const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'lifeboat-harness-'));
    await fs.mkdir(join(dir, 'pki'), { recursive: true });
    const block = allocateBlock('harness');
    const unregister = onCleanup(() => {
      if (ownsDir) rmSync(dir, { recursive: true, force: true });
    });
    const parent = process.ppid;
    const watchdog = setInterval(() => {
      if (process.ppid !== parent) runCleanups();
    }, 500);
    watchdog.unref();
    let etcd: EtcdCluster | undefined;
    try {
      const tls = opts.tls ?? true;
      const ca = await CertificateAuthority.create('lifeboat-harness-ca');
      const caFile = join(dir, 'pki', 'ca.crt');
      await fs.writeFile(caFile, ca.certPem, { mode: 0o644 });
      await fs.writeFile(join(dir, 'pki', 'ca.key'), ca.keyPem, { mode: 0o600 });
      etcd = await EtcdCluster.start({
        members: opts.etcdMembers ?? 1,
        dir,
        block,
        ca,
        caFile,
        tls,
        ...(opts.etcdMinor ? { minor: opts.etcdMinor } : {}),
        ...(opts.etcdArgs ? { extraArgs: opts.etcdArgs } : {}),
      });
      const apiserver = opts.apiserver
        ? await KubeApiServer.start({
            dir,
            ip: block.host(100),
            etcd,
            ca,
            caFile,
            ...(opts.apiserverArgs ? { extraArgs: opts.apiserverArgs } : {}),
          })
        : undefined;
      return new Harness(dir, ownsDir, block, caFile, etcd, apiserver, unregister, watchdog);
    } catch (err) {
      clearInterval(watchdog);
      await etcd?.stop();
      block.release();
      unregister();
      if (ownsDir && !process.env.LIFEBOAT_KEEP_FAILED) rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Every running child's pid. */
  pids(): number[] {
    return [...this.etcd.pids(), ...(this.apiserver?.proc.running ? [this.apiserver.proc.pid] : [])];
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.watchdog);
    await this.apiserver?.stop();
    await this.etcd.stop();
    this.block.release();
    this.unregister();
    if (this.ownsDir) await fs.rm(this.dir, { recursive: true, force: true });
  }
}
