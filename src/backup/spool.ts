/**
 * The spool pre-flight of `backup create`: the full structure check and content summary run from a plain
 * spooled copy only when the spool directory is NOT on the filesystem of an etcd member being backed up
 * (a spool there competes with etcd for the same disk, the one thing a backup must not endanger) and has
 * ≥ 1.1× the db size free (checked by create.ts while opening the spool).
 *
 * etcd's gRPC API does not report a member's data directory, so "etcd's filesystem" is only knowable for a
 * member running on this host: Lifeboat reads /proc/<pid>/cmdline (and environ, when readable) of every
 * local process named `etcd`, takes its client URLs (--listen-client-urls, --advertise-client-urls or the
 * ETCD_* variables) and data dir (--data-dir, ETCD_DATA_DIR, a `data-dir:` in --config-file, else
 * `<name>.etcd` in its working directory), resolves the data dir inside the process's mount namespace
 * (/proc/<pid>/root/…, so static pods count), and compares the device of that directory with the device of
 * the spool directory. A member is matched when one of its client URLs has the host:port of an
 * --endpoints value (or listens on 0.0.0.0/[::] with that port). For a remote member the check cannot
 * run; that is logged and the spool is used.
 */
import { createRequire } from 'node:module';
import { readFileSync, readlinkSync, readdirSync, promises as fs } from 'node:fs';
import { basename, isAbsolute, join } from 'node:path';
import { createBackup, type CreateOptions } from './create.js';
import type { BackupManifest } from './manifest.js';

export interface LocalEtcd {
  pid: number;
  /** The data dir as the process sees it (absolute). */
  dataDir: string;
  /** The same directory as this process can reach it (through /proc/<pid>/root when readable). */
  reachableDataDir: string;
  clientUrls: string[];
}

function argValue(args: string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    for (const dash of ['--', '-']) {
      if (a === `${dash}${name}`) return args[i + 1];
      if (a.startsWith(`${dash}${name}=`)) return a.slice(dash.length + name.length + 1);
    }
  }
  return undefined;
}

function readEnviron(pid: number, procRoot: string): Map<string, string> {
  const env = new Map<string, string>();
  try {
    for (const kv of readFileSync(join(procRoot, String(pid), 'environ'), 'latin1').split('\0')) {
      const i = kv.indexOf('=');
      if (i > 0) env.set(kv.slice(0, i), kv.slice(i + 1));
    }
  } catch {
    // Another user's process: its environment is private; the command line still counts.
  }
  return env;
}

/** Every etcd process visible in procRoot with its data dir and client URLs. */
export function localEtcdProcesses(procRoot = '/proc'): LocalEtcd[] {
  let pids: number[];
  try {
    pids = readdirSync(procRoot)
      .filter((d) => /^\d+$/.test(d))
      .map(Number);
  } catch {
    return [];
  }
  const out: LocalEtcd[] = [];
  for (const pid of pids) {
    let args: string[];
    try {
      args = readFileSync(join(procRoot, String(pid), 'cmdline'), 'latin1')
        .split('\0')
        .filter(Boolean);
    } catch {
      continue;
    }
    if (args.length === 0 || basename(args[0]!) !== 'etcd') continue;
    const env = readEnviron(pid, procRoot);
    let config: Record<string, unknown> = {};
    const configFile = argValue(args, 'config-file') ?? env.get('ETCD_CONFIG_FILE');
    if (configFile) {
      try {
        const rooted = join(procRoot, String(pid), 'root', configFile);
        // Loaded only here (a local etcd with a config file): the YAML parser is ≈ 30 ms of start-up.
        const { parse } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
        config = (parse(readFileSync(rooted, 'utf8')) as Record<string, unknown>) ?? {};
      } catch {
        config = {};
      }
    }
    const name = argValue(args, 'name') ?? env.get('ETCD_NAME') ?? String(config.name ?? 'default');
    let dataDir =
      argValue(args, 'data-dir') ??
      env.get('ETCD_DATA_DIR') ??
      (typeof config['data-dir'] === 'string' ? config['data-dir'] : `${name}.etcd`);
    if (!isAbsolute(dataDir)) {
      try {
        dataDir = join(readlinkSync(join(procRoot, String(pid), 'cwd')), dataDir);
      } catch {
        continue;
      }
    }
    const urls = [
      argValue(args, 'listen-client-urls') ??
        env.get('ETCD_LISTEN_CLIENT_URLS') ??
        String(config['listen-client-urls'] ?? 'http://localhost:2379'),
      argValue(args, 'advertise-client-urls') ??
        env.get('ETCD_ADVERTISE_CLIENT_URLS') ??
        String(config['advertise-client-urls'] ?? ''),
    ]
      .join(',')
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean);
    out.push({
      pid,
      dataDir,
      reachableDataDir: join(procRoot, String(pid), 'root', dataDir),
      clientUrls: urls,
    });
  }
  return out;
}

function hostPort(url: string): { host: string; port: string } | undefined {
  try {
    const u = new URL(url.includes('://') ? url : `http://${url}`);
    return { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port || '2379' };
  } catch {
    return undefined;
  }
}

/** Whether a local etcd's client URLs serve an endpoint. */
export function servesEndpoint(etcd: Pick<LocalEtcd, 'clientUrls'>, endpoint: string): boolean {
  const e = hostPort(endpoint);
  if (!e) return false;
  return etcd.clientUrls.some((u) => {
    const l = hostPort(u);
    if (!l || l.port !== e.port) return false;
    if (l.host === e.host) return true;
    if (l.host === '0.0.0.0' || l.host === '::') return true;
    return l.host === 'localhost' && (e.host === '127.0.0.1' || e.host === '::1' || e.host === 'localhost');
  });
}

async function device(path: string): Promise<bigint | undefined> {
  try {
    return (await fs.stat(path, { bigint: true })).dev;
  } catch {
    return undefined;
  }
}

export interface SpoolPlacement {
  /** Undefined when the spool may be used; else why not (for the log and the manifest). */
  problem?: string;
  /** What the check could and could not establish, for the log. */
  notes: string[];
}

/** Checks that `spoolDir` is not on the filesystem of a local etcd serving one of `endpoints`. */
export async function checkSpoolPlacement(
  spoolDir: string,
  endpoints: string[],
  procRoot = '/proc',
): Promise<SpoolPlacement> {
  const spoolDev = await device(spoolDir);
  if (spoolDev === undefined) {
    return { problem: `spool directory ${spoolDir} does not exist or cannot be read`, notes: [] };
  }
  const notes: string[] = [];
  const local = localEtcdProcesses(procRoot);
  for (const ep of endpoints) {
    const serving = local.filter((p) => servesEndpoint(p, ep));
    if (serving.length === 0) {
      notes.push(
        `no local etcd process serves ${ep}: its data dir is not knowable over gRPC, so the spool's filesystem is not compared with it`,
      );
      continue;
    }
    for (const p of serving) {
      const dev = (await device(p.reachableDataDir)) ?? (await device(p.dataDir));
      if (dev === undefined) {
        notes.push(`etcd pid ${p.pid} serving ${ep}: data dir ${p.dataDir} cannot be examined`);
        continue;
      }
      if (dev === spoolDev) {
        return {
          problem: `spool directory ${spoolDir} is on the same filesystem as the data dir ${p.dataDir} of the etcd (pid ${p.pid}) serving ${ep}; skipping the structure check (pass --spool-dir on another filesystem)`,
          notes,
        };
      }
      notes.push(`spool directory ${spoolDir} is not on the filesystem of ${p.dataDir} (etcd pid ${p.pid})`);
    }
  }
  return { notes };
}

/**
 * createBackup with the spool pre-flight: a spool on etcd's filesystem is not used, and the manifest's
 * `structureCheckSkipped` says why (this reason, or create.ts's own: free space, a failed spool write,
 * --no-spool).
 */
export async function createBackupWithSpoolCheck(opts: CreateOptions): Promise<BackupManifest> {
  const outer = opts.log ?? (() => undefined);
  // The pre-flight's lines wait for createBackup's first line (it has reached etcd by then): a backup that
  // fails to connect stays one error line on stderr.
  const pending: string[] = [];
  const log = (l: string): void => {
    for (const p of pending.splice(0)) outer(p);
    outer(l);
  };
  let spoolDir = opts.spoolDir;
  let spoolSkipReason: string | undefined;
  if (spoolDir !== undefined) {
    const placement = await checkSpoolPlacement(spoolDir, opts.conn.endpoints);
    // What could not be compared (remote members) is context for a refusal only.
    if (placement.problem) {
      pending.push(...placement.notes, placement.problem);
      spoolSkipReason = placement.problem;
      spoolDir = undefined;
    }
  }
  const { spoolDir: _dropped, ...rest } = opts;
  const m = await createBackup({
    ...rest,
    log,
    ...(spoolDir !== undefined ? { spoolDir } : {}),
    ...(spoolSkipReason !== undefined ? { spoolSkipReason } : {}),
  });
  for (const p of pending.splice(0)) outer(p);
  return m;
}
