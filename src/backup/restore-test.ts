/**
 * `backup verify --restore-test`: restores the downloaded snapshot with `etcdutl snapshot restore` (or
 * `etcdctl snapshot restore` for 3.4) of the manifest's etcd minor version into a scratch directory,
 * boots a real single-member etcd on a private loopback address, and compares revision, live keys and
 * HashKV with the manifest. Binaries come from --etcd-bin-dir, else from Lifeboat's binary cache.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdClient } from '../etcd-client/client.js';
import { allocateBlock } from '../lab/address-block.js';
import { etcdBinaries, type EtcdMinor } from '../lab/binaries.js';
import { ManagedProcess } from '../lab/process.js';
import { onCleanup } from '../util/cleanup.js';
import { MissingBinaryError, VerificationError } from '../util/errors.js';
import type { BackupManifest } from './manifest.js';

export interface RestoreTestResult {
  etcdVersion: string;
  revision: bigint;
  liveKeys: bigint;
  hashKV: number;
}

function minorOf(version: string): EtcdMinor {
  const m = /^(\d+)\.(\d+)/.exec(version);
  const minor = m ? `${m[1]}.${m[2]}` : '3.6';
  return minor === '3.4' || minor === '3.5' ? minor : '3.6';
}

function binaries(version: string, binDir?: string): { etcd: string; restore: string; viaEtcdctl: boolean } {
  if (binDir) {
    const etcd = join(binDir, 'etcd');
    const utl = join(binDir, 'etcdutl');
    const ctl = join(binDir, 'etcdctl');
    if (!existsSync(etcd))
      throw new MissingBinaryError('etcd', etcd, 'pass --etcd-bin-dir with etcd and etcdutl');
    if (existsSync(utl)) return { etcd, restore: utl, viaEtcdctl: false };
    if (existsSync(ctl)) return { etcd, restore: ctl, viaEtcdctl: true };
    throw new MissingBinaryError('etcdutl', utl, 'pass --etcd-bin-dir with etcd and etcdutl');
  }
  const b = etcdBinaries(minorOf(version));
  return b.etcdutl
    ? { etcd: b.etcd, restore: b.etcdutl, viaEtcdctl: false }
    : { etcd: b.etcd, restore: b.etcdctl, viaEtcdctl: true };
}

export async function restoreTest(
  manifest: BackupManifest,
  snapshotFile: string,
  opts: { binDir?: string; log?: (l: string) => void } = {},
): Promise<RestoreTestResult> {
  const bins = binaries(manifest.source.etcdVersion, opts.binDir);
  const block = allocateBlock('lab');
  const ip = block.host(200);
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-restore-test-'));
  const unregister = onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const peer = `http://${ip}:2380`;
  const clientUrl = `http://${ip}:2379`;
  const dataDir = join(dir, 'data');
  let proc: ManagedProcess | undefined;
  try {
    const r = spawnSync(
      bins.restore,
      [
        'snapshot',
        'restore',
        snapshotFile,
        '--name',
        'restore-test',
        '--data-dir',
        dataDir,
        '--initial-cluster',
        `restore-test=${peer}`,
        '--initial-advertise-peer-urls',
        peer,
      ],
      { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' } },
    );
    if (r.status !== 0) {
      throw new VerificationError(
        `backup ${manifest.id}: ${bins.viaEtcdctl ? 'etcdctl' : 'etcdutl'} snapshot restore failed: ${(r.stderr || r.stdout).trim().split('\n').pop()}`,
      );
    }
    proc = ManagedProcess.start({
      name: 'etcd restore-test',
      command: bins.etcd,
      args: [
        '--name=restore-test',
        `--data-dir=${dataDir}`,
        `--listen-client-urls=${clientUrl}`,
        `--advertise-client-urls=${clientUrl}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=restore-test=${peer}`,
      ],
      logFile: join(dir, 'etcd.log'),
    });
    const client = EtcdClient.forEndpoint(clientUrl, {
      tls: {},
      dialTimeoutMs: 20_000,
      commandTimeoutMs: 10_000,
    });
    try {
      const st = await client.status();
      const rev = manifest.revision ?? st.header.revision;
      const count = await client.range(Buffer.from([0]), { rangeEnd: Buffer.from([0]), countOnly: true });
      const hk = await client.hashKV(rev);
      const result = {
        etcdVersion: st.version,
        revision: st.header.revision,
        liveKeys: count.count,
        hashKV: hk.hash,
      };
      opts.log?.(
        `restore test: etcd ${st.version} booted the snapshot at revision ${result.revision}, ${result.liveKeys} keys, hashKV ${result.hashKV}`,
      );
      const diffs: string[] = [];
      if (manifest.revision !== null && manifest.revision !== result.revision) {
        diffs.push(`revision ${result.revision} vs ${manifest.revision}`);
      }
      if (manifest.liveKeys !== null && manifest.liveKeys !== result.liveKeys) {
        diffs.push(`live keys ${result.liveKeys} vs ${manifest.liveKeys}`);
      }
      if (manifest.hashKV !== null && manifest.hashKV !== result.hashKV) {
        diffs.push(`hashKV ${result.hashKV} vs ${manifest.hashKV}`);
      }
      if (diffs.length) {
        throw new VerificationError(
          `backup ${manifest.id}: restored etcd differs from the manifest: ${diffs.join(', ')}`,
        );
      }
      return result;
    } finally {
      client.close();
    }
  } finally {
    await proc?.stop('SIGKILL');
    block.release();
    rmSync(dir, { recursive: true, force: true });
    unregister();
  }
}
