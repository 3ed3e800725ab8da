/**
 * A lab's directory and the documents in it (the one place these file names are written down):
 *
 *   <dir>/lab.json           LabConfig: shape, network, addresses, created once, updated by the supervisor
 *   <dir>/state.json         LabState: what the supervisor runs now (pid, start time, executable, state)
 *   <dir>/lock               the running supervisor's identity; one supervisor per lab
 *   <dir>/supervisor.log     the supervisor's own log
 *   <dir>/kubeconfig         admin access through the load balancer
 *   <dir>/pki/               the lab CA and every certificate and key, kept across restarts
 *   <dir>/hosts/<host>/      per host: etcd data, component logs, kubeconfigs
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { CorruptInputError, LifeboatError, UsageError } from '../util/errors.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { lifeboatDoc, stringifyJson } from '../util/json.js';
import { identify, stillRunning, type ProcessIdentity } from './proc-identity.js';
import type { Component, LabShape, NetworkMode } from './topology.js';

export interface LabConfig {
  apiVersion: string;
  kind: 'LabConfig';
  name: string;
  /** 6 hex digits naming the lab's network namespaces and interfaces. */
  id: string;
  shape: LabShape;
  network: NetworkMode;
  tls: boolean;
  etcdMinor: '3.5' | '3.6';
  /** 127.X.Y of the address block; set by the first supervisor and kept (certificates carry it). */
  blockPrefix?: string;
  /** The lab's /24 ("a.b.c"): the block itself (loopback) or 10.X.Y (netns). */
  prefix?: string;
  /** Set once etcd first formed its cluster: from then on a member without data was wiped. */
  initialized?: boolean;
  createdAt: string;
}

export type ProcState = 'running' | 'stopped' | 'killed' | 'exited' | 'wiped' | 'starting';

export interface ProcRecord {
  host: string;
  component: Component;
  address: string;
  state: ProcState;
  identity?: ProcessIdentity;
  logFile: string;
}

export interface LabState {
  apiVersion: string;
  kind: 'LabState';
  phase: 'starting' | 'ready' | 'failed' | 'down';
  error?: string;
  supervisor?: ProcessIdentity;
  balancer?: string;
  kubeconfig?: string;
  partitioned: string[];
  processes: ProcRecord[];
  upMs?: number;
  updatedAt: string;
}

export function labsRoot(): string {
  return join(process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'lifeboat', 'labs');
}

const NAME_RE = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;

/** The lab directory for --name / --dir. */
export function labDir(o: { name?: string; dir?: string }): string {
  if (o.dir) return resolve(o.dir);
  const name = o.name ?? 'default';
  if (!NAME_RE.test(name)) {
    throw new UsageError(
      `--name: expected lower-case letters, digits and dashes (at most 32), got '${name}'`,
    );
  }
  return join(labsRoot(), name);
}

export const files = (dir: string) => ({
  config: join(dir, 'lab.json'),
  state: join(dir, 'state.json'),
  lock: join(dir, 'lock'),
  log: join(dir, 'supervisor.log'),
  kubeconfig: join(dir, 'kubeconfig'),
  pki: join(dir, 'pki'),
  host: (h: string) => join(dir, 'hosts', h),
});

function readJson<T>(path: string, kind: string): T | undefined {
  if (!existsSync(path)) return undefined;
  let doc: { kind?: string };
  try {
    doc = JSON.parse(readFileSync(path, 'utf8')) as { kind?: string };
  } catch (err) {
    throw new CorruptInputError(path, `not JSON (${(err as Error).message})`);
  }
  if (doc.kind !== kind)
    throw new CorruptInputError(path, `expected kind ${kind}, found ${String(doc.kind)}`);
  return doc as T;
}

export const readConfig = (dir: string) => readJson<LabConfig>(files(dir).config, 'LabConfig');
export const readState = (dir: string) => readJson<LabState>(files(dir).state, 'LabState');

export async function writeConfig(dir: string, c: Omit<LabConfig, 'apiVersion' | 'kind'>): Promise<void> {
  const { apiVersion: _a, kind: _k, ...body } = c as LabConfig;
  await writeFileAtomic(files(dir).config, stringifyJson(lifeboatDoc('LabConfig', body)) + '\n', {
    force: true,
    mode: 0o644,
  });
}

export async function writeState(dir: string, s: Omit<LabState, 'apiVersion' | 'kind'>): Promise<void> {
  const { apiVersion: _a, kind: _k, ...body } = s as LabState;
  await writeFileAtomic(files(dir).state, stringifyJson(lifeboatDoc('LabState', body)) + '\n', {
    force: true,
    mode: 0o644,
  });
}

export class LabLockedError extends LifeboatError {
  constructor(
    readonly dir: string,
    readonly holder: ProcessIdentity,
  ) {
    super(`lab ${dir} is already run by supervisor pid ${holder.pid}`);
  }
}

/** The supervisor holding the lab's lock, if it is still that very process. */
export function lockHolder(dir: string): ProcessIdentity | undefined {
  try {
    const id = JSON.parse(readFileSync(files(dir).lock, 'utf8')) as ProcessIdentity;
    return stillRunning(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Takes the lab lock for this process (a stale lock of a dead supervisor is taken over). */
export function takeLock(dir: string): () => void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const me = identify(process.pid);
  if (!me) throw new LifeboatError('cannot read /proc/self: is /proc mounted?');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(files(dir).lock, 'wx', 0o644);
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      return () => {
        const holder = lockHolder(dir);
        if (holder && holder.pid === process.pid) rmSync(files(dir).lock, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = lockHolder(dir);
      if (holder) throw new LabLockedError(dir, holder);
      rmSync(files(dir).lock, { force: true });
    }
  }
  throw new LifeboatError(`could not take the lock ${files(dir).lock}`);
}
