/**
 * The lab as a library: `upLab` creates or resumes a lab and waits until its supervisor reports it ready;
 * `labRequest` sends failure-injection and status requests; `downLab` stops it, leaving no process. The CLI
 * group `lab` and the tests are thin over these.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import { ConnectionError, LifeboatError, NotFoundError, RefusedError, UsageError } from '../util/errors.js';
import { etcdBinaries, kubernetesBinaries, kwokBinary } from './binaries.js';
import { request, socketPath, type LabOp } from './control.js';
import {
  files,
  labDir,
  labsRoot,
  lockHolder,
  readConfig,
  readState,
  writeConfig,
  type LabConfig,
  type LabState,
} from './lab-files.js';
import { networkExists, teardownNetwork } from './netns.js';
import { signalIfSame, stillRunning } from './proc-identity.js';
import type { LabStatus } from './supervisor.js';
import { COMPONENTS, planHosts, resolveShape, type NetworkMode } from './topology.js';

export interface LabUpOptions {
  name?: string;
  dir?: string;
  topology?: string;
  etcd?: number;
  controlPlanes?: number;
  nodes?: number;
  network?: NetworkMode;
  insecure?: boolean;
  etcdMinor?: '3.5' | '3.6';
  /** Take the lab down when this process exits (tests, the demo). */
  ownerPid?: number;
  timeoutMs?: number;
  /** Progress lines (stderr in the CLI). */
  progress?: (line: string) => void;
}

export interface LabUpResult {
  dir: string;
  name: string;
  kubeconfig: string;
  balancer: string;
  created: boolean;
  /** Wall time of this call. */
  ms: number;
  /** What was started when the supervisor already ran. */
  started?: string[];
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function upLab(o: LabUpOptions): Promise<LabUpResult> {
  const t0 = Date.now();
  const dir = labDir(o);
  const say = o.progress ?? (() => undefined);
  let config = readConfig(dir);
  let created = false;
  if (!config) {
    const shape = resolveShape(o);
    const network = o.network ?? (isRoot() ? 'netns' : 'loopback');
    if (network !== 'netns' && network !== 'loopback') {
      throw new UsageError(`--network: expected netns or loopback, got '${String(network)}'`);
    }
    if (network === 'netns' && !isRoot()) {
      throw new UsageError('--network netns needs root (network namespaces); use --network loopback');
    }
    // Fail before creating anything if a binary is missing.
    etcdBinaries(o.etcdMinor ?? '3.6');
    kubernetesBinaries();
    if (shape.nodes > 0) kwokBinary();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const body = {
      name: o.name ?? (o.dir ? dir.split('/').pop()! : 'default'),
      id: randomBytes(3).toString('hex'),
      shape,
      network,
      tls: !o.insecure,
      etcdMinor: o.etcdMinor ?? '3.6',
      createdAt: new Date().toISOString(),
    } as const;
    await writeConfig(dir, body);
    config = readConfig(dir)!;
    created = true;
    say(`creating lab ${config.name} in ${dir}: ${describe(config)}`);
  } else {
    const have: Record<string, unknown> = { ...config.shape, network: config.network };
    const differs = Object.entries({
      ...definedOnly(o),
      ...(o.network ? { network: o.network } : {}),
    }).filter(([k, v]) => have[k] !== v);
    if (differs.length) {
      throw new UsageError(
        `lab ${config.name} already exists as ${describe(config)} (asked: ${differs.map(([k, v]) => `${k} ${String(v)}`).join(', ')}); take it down with 'lab down --purge' to change its shape`,
      );
    }
  }
  const holder = lockHolder(dir);
  const starting = holder && readState(dir)?.phase === 'starting';
  if (holder && !starting) {
    say(`lab ${config.name} is running (supervisor pid ${holder.pid}); starting what is missing`);
    const r = await request<{ started: string[] }>(dir, { op: 'up' }, o.timeoutMs ?? 180000);
    const st = readState(dir);
    return {
      dir,
      name: config.name,
      kubeconfig: files(dir).kubeconfig,
      balancer: st?.balancer ?? '',
      created,
      ms: Date.now() - t0,
      started: r.started,
    };
  }
  let stateBefore: string | undefined;
  let supervisorExit: number | null | undefined;
  if (holder) {
    say(`lab ${config.name} is starting (supervisor pid ${holder.pid}); waiting for it`);
  } else {
    if (!created) say(`resuming lab ${config.name} on its kept PKI and data: ${describe(config)}`);
    stateBefore = readState(dir)?.updatedAt;
    const log = openSync(files(dir).log, 'a', 0o600);
    try {
      const args = [join(import.meta.dirname, 'supervisor-entry.js'), '--dir', dir];
      if (o.ownerPid) args.push('--owner-pid', String(o.ownerPid));
      const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', log, log] });
      child.on('exit', (code) => (supervisorExit = code));
      child.unref();
    } finally {
      closeSync(log);
    }
  }
  const deadline = Date.now() + (o.timeoutMs ?? 180000);
  let seen = '';
  while (Date.now() < deadline) {
    await sleep(200);
    let st: LabState | undefined;
    try {
      st = readState(dir);
    } catch {
      continue; // being replaced
    }
    if (!st || st.updatedAt === stateBefore) {
      if (supervisorExit !== undefined) {
        // It exited before writing any state: the reason is the last line of its log.
        const last = readFileSync(files(dir).log, 'utf8').trimEnd().split('\n').pop() ?? '';
        throw new LifeboatError(
          `lab ${config.name}: the supervisor exited (code ${supervisorExit}): ${last}`,
        );
      }
      continue;
    }
    const running = st.processes.filter((p) => p.state === 'running').length;
    const line = `${running}/${st.processes.length} processes running`;
    if (line !== seen && st.phase === 'starting') say(line);
    seen = line;
    if (st.phase === 'ready') {
      return {
        dir,
        name: config.name,
        kubeconfig: st.kubeconfig ?? files(dir).kubeconfig,
        balancer: st.balancer ?? '',
        created,
        ms: Date.now() - t0,
      };
    }
    if (st.phase === 'failed' || st.phase === 'down') {
      throw new LifeboatError(`lab ${config.name} failed to start: ${st.error ?? 'see ' + files(dir).log}`);
    }
  }
  await downLab({ dir }).catch(() => undefined);
  throw new LifeboatError(
    `lab ${config.name} was not ready within ${(o.timeoutMs ?? 180000) / 1000} s; see ${files(dir).log}`,
  );
}

function definedOnly(o: LabUpOptions): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries({
      topology: o.topology,
      etcd: o.etcd,
      controlPlanes: o.controlPlanes,
      nodes: o.nodes,
    }).filter(([, v]) => v !== undefined),
  );
}

export function describe(c: LabConfig): string {
  const s = c.shape;
  const hosts =
    s.topology === 'stacked'
      ? `${s.controlPlanes} stacked control-plane hosts`
      : `${s.etcd} etcd hosts + ${s.controlPlanes} control-plane hosts`;
  return `${hosts}, ${s.nodes} kwok nodes, network ${c.network}, ${c.tls ? 'TLS' : 'no TLS for etcd'}`;
}

function requireLab(o: { name?: string; dir?: string }): { dir: string; config: LabConfig } {
  const dir = labDir(o);
  const config = readConfig(dir);
  if (!config) throw new NotFoundError(`lab ${o.dir ?? o.name ?? 'default'}`, labsRoot());
  return { dir, config };
}

/** Sends one operation to the running lab's supervisor. */
export async function labRequest<T>(
  o: { name?: string; dir?: string },
  op: LabOp,
  host?: string,
  component?: string,
  timeoutMs = 180000,
): Promise<T> {
  const { dir, config } = requireLab(o);
  if (!lockHolder(dir)) {
    throw new ConnectionError(
      dir,
      `lab ${config.name} is not running (start it with 'lifeboat lab up --name ${config.name}')`,
    );
  }
  if (component !== undefined && !(COMPONENTS as readonly string[]).includes(component)) {
    throw new UsageError(`unknown component '${component}'; expected one of ${COMPONENTS.join(', ')}`);
  }
  return request<T>(dir, { op, ...(host ? { host } : {}), ...(component ? { component } : {}) }, timeoutMs);
}

export function labStatus(o: { name?: string; dir?: string }): Promise<LabStatus> {
  return labRequest<LabStatus>(o, 'status', undefined, undefined, 30000);
}

export interface LabDownResult {
  dir: string;
  /** Processes that had to be killed by pid because the supervisor did not stop them. */
  forced: number;
  purged: boolean;
}

/**
 * Asks the supervisor to stop everything and waits until it and every process it recorded are gone;
 * if it does not answer, kills (only) the recorded processes that still match their pid, start time and
 * executable, and removes the lab network. `purge` then deletes the lab directory.
 */
export async function downLab(o: { name?: string; dir?: string; purge?: boolean }): Promise<LabDownResult> {
  const { dir, config } = requireLab(o);
  let forced = 0;
  const holder = lockHolder(dir);
  if (holder) {
    await request(dir, { op: 'down' }, 10000).catch(() => undefined);
    const deadline = Date.now() + 30000;
    while (Date.now() < deadline && stillRunning(holder)) await sleep(100);
    if (stillRunning(holder)) {
      signalIfSame(holder, 'SIGKILL');
      forced++;
    }
  }
  const st = readState(dir);
  for (const p of st?.processes ?? []) {
    if (p.identity && stillRunning(p.identity)) {
      // Children die with their supervisor (pdeathsig); give the kernel a moment before forcing.
      await sleep(200);
      if (signalIfSame(p.identity, 'SIGKILL')) forced++;
    }
  }
  if (config.network === 'netns' && config.prefix) {
    const net = {
      id: config.id,
      prefix: config.prefix,
      hosts: planHosts(config.shape).map((h) => ({ name: h.name, ip: `${config.prefix}.${h.n}` })),
    };
    if (networkExists(net)) teardownNetwork(net);
  }
  rmSync(socketPath(dir), { force: true });
  if (o.purge) rmSync(dir, { recursive: true, force: true });
  return { dir, forced, purged: !!o.purge };
}

export interface LabSummary {
  name: string;
  dir: string;
  running: boolean;
  shape: string;
  supervisorPid?: number;
}

export function listLabs(): LabSummary[] {
  const root = labsRoot();
  if (!existsSync(root)) return [];
  const out: LabSummary[] = [];
  for (const e of readdirSync(root).sort()) {
    const dir = join(root, e);
    if (!statSync(dir).isDirectory()) continue;
    let c: LabConfig | undefined;
    try {
      c = readConfig(dir);
    } catch {
      c = undefined;
    }
    if (!c) continue;
    const h = lockHolder(dir);
    out.push({ name: c.name, dir, running: !!h, shape: describe(c), ...(h ? { supervisorPid: h.pid } : {}) });
  }
  return out;
}

/** The last `lines` lines of each log of a host (or of one component), or of the supervisor for host "supervisor". */
export function labLogs(
  o: { name?: string; dir?: string },
  host: string,
  component?: string,
  lines = 50,
): Array<{ file: string; text: string }> {
  const { dir, config } = requireLab(o);
  const tail = (file: string) => {
    const all = readFileSync(file, 'utf8').split('\n');
    if (all.at(-1) === '') all.pop();
    return all.slice(-lines).join('\n');
  };
  if (host === 'supervisor') return [{ file: files(dir).log, text: tail(files(dir).log) }];
  const plan = planHosts(config.shape).find((h) => h.name === host);
  if (!plan) {
    throw new NotFoundError(
      `host ${host}`,
      `lab ${config.name} (hosts: ${planHosts(config.shape)
        .map((h) => h.name)
        .join(', ')}, supervisor)`,
    );
  }
  const comps = component ? [component] : plan.components;
  for (const c of comps) {
    if (!(plan.components as string[]).includes(c)) {
      throw new NotFoundError(
        `component ${c} on host ${host}`,
        `lab ${config.name} (it runs ${plan.components.join(', ')})`,
      );
    }
  }
  return comps
    .map((c) => join(files(dir).host(host), `${c}.log`))
    .filter((f) => existsSync(f))
    .map((f) => ({ file: f, text: tail(f) }));
}

/** Refuses an operation that needs a stopped lab. */
export function requireStopped(o: { name?: string; dir?: string }): void {
  const { dir, config } = requireLab(o);
  if (lockHolder(dir)) throw new RefusedError(`lab ${config.name} is running; run 'lifeboat lab down' first`);
}
