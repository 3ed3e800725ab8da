/**
 * Where the real binaries live: ${XDG_CACHE_HOME:-~/.cache}/lifeboat/<name>-<version>/, as installed by
 * scripts/install-binaries from the pins in tools/versions.env (the one place versions are written).
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { MissingBinaryError } from '../util/errors.js';
import { packageRoot } from '../util/version.js';

export type EtcdMinor = '3.4' | '3.5' | '3.6';

let pins: Record<string, string> | undefined;

export function versionPins(): Record<string, string> {
  if (!pins) {
    const text = readFileSync(join(packageRoot(), 'tools', 'versions.env'), 'utf8');
    pins = {};
    for (const line of text.split('\n')) {
      const m = /^([A-Z0-9_]+)=(\S+)\s*$/.exec(line);
      if (m) pins[m[1]!] = m[2]!;
    }
  }
  return pins;
}

export function cacheRoot(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'lifeboat');
}

function installed(name: string, version: string, installName: string, files: string[]): string {
  const dir = join(cacheRoot(), `${name}-${version}`);
  for (const f of files) {
    const p = join(dir, f);
    if (!existsSync(join(dir, '.complete')) || !existsSync(p)) {
      throw new MissingBinaryError(f, p, `run scripts/install-binaries ${installName}`);
    }
  }
  return dir;
}

export interface EtcdBinaries {
  minor: EtcdMinor;
  version: string;
  etcd: string;
  etcdctl: string;
  /** etcdutl exists from 3.5 on. */
  etcdutl?: string;
}

export function etcdBinaries(minor: EtcdMinor = '3.6'): EtcdBinaries {
  const p = versionPins();
  if (minor === '3.4') {
    const dir = installed('etcd', `${p.ETCD34_DEBIAN_PACKAGE}-debian`, 'etcd-3.4', ['etcd', 'etcdctl']);
    const version = readFileSync(join(dir, 'VERSION'), 'utf8').trim();
    return { minor, version, etcd: join(dir, 'etcd'), etcdctl: join(dir, 'etcdctl') };
  }
  const v = minor === '3.5' ? p.ETCD35_VERSION! : p.ETCD36_VERSION!;
  const dir = installed('etcd', v, `etcd-${minor}`, ['etcd', 'etcdctl', 'etcdutl']);
  return {
    minor,
    version: v.replace(/^v/, ''),
    etcd: join(dir, 'etcd'),
    etcdctl: join(dir, 'etcdctl'),
    etcdutl: join(dir, 'etcdutl'),
  };
}

export interface KubernetesBinaries {
  version: string;
  apiserver: string;
  controllerManager: string;
  scheduler: string;
  kubectl: string;
}

export function kubernetesBinaries(): KubernetesBinaries {
  const v = versionPins().KUBERNETES_VERSION!;
  const files = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl'];
  const dir = installed('kubernetes', v, 'kubernetes', files);
  return {
    version: v,
    apiserver: join(dir, 'kube-apiserver'),
    controllerManager: join(dir, 'kube-controller-manager'),
    scheduler: join(dir, 'kube-scheduler'),
    kubectl: join(dir, 'kubectl'),
  };
}

export function kwokBinary(): string {
  return join(installed('kwok', versionPins().KWOK_VERSION!, 'kwok', ['kwok']), 'kwok');
}

export function minioBinary(): string {
  return join(installed('minio', versionPins().MINIO_VERSION!, 'minio', ['minio']), 'minio');
}
