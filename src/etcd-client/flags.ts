/**
 * etcdctl's connection flags and environment variables, shared by every command that talks to a live etcd:
 * `--endpoints`, `--cacert`, `--cert`, `--key`, `--dial-timeout` (5 s), `--command-timeout` (5 s), and
 * `ETCDCTL_ENDPOINTS`, `ETCDCTL_CACERT`, `ETCDCTL_CERT`, `ETCDCTL_KEY`, `ETCDCTL_DIAL_TIMEOUT`,
 * `ETCDCTL_COMMAND_TIMEOUT`. A flag wins over its environment variable, as in etcdctl.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { NotFoundError, UsageError } from '../util/errors.js';

export interface TlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
}

export interface ConnectionConfig {
  /** Full URLs (`https://host:port`). */
  endpoints: string[];
  tls: TlsFiles;
  dialTimeoutMs: number;
  commandTimeoutMs: number;
}

/** The PEM bytes of the TLS files, read once. */
export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

const UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** A Go-style duration ("5s", "1m30s", "250ms", "24h") in milliseconds. A bare number means seconds. */
export function parseDuration(text: string, flag = 'duration'): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t)) !== null) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    pos = re.lastIndex;
  }
  if (pos !== t.length || t.length === 0) {
    throw new UsageError(`${flag}: expected a duration like 5s, 1m30s or 24h, found '${text}'`);
  }
  return total;
}

/** Adds etcdctl's connection options to a command. */
export function addConnectionOptions(cmd: Command): Command {
  return cmd
    .option(
      '--endpoints <urls>',
      'comma-separated etcd client URLs (env ETCDCTL_ENDPOINTS; default 127.0.0.1:2379)',
    )
    .option('--cacert <file>', 'CA bundle that signed the etcd server certificates (env ETCDCTL_CACERT)')
    .option('--cert <file>', 'client certificate (env ETCDCTL_CERT)')
    .option('--key <file>', 'client private key (env ETCDCTL_KEY)')
    .option(
      '--dial-timeout <duration>',
      'time to establish a connection (env ETCDCTL_DIAL_TIMEOUT)',
      undefined,
    )
    .option('--command-timeout <duration>', 'deadline of each short request (env ETCDCTL_COMMAND_TIMEOUT)');
}

export interface ConnectionFlagValues {
  endpoints?: string;
  cacert?: string;
  cert?: string;
  key?: string;
  dialTimeout?: string;
  commandTimeout?: string;
}

/** Normalises one endpoint to a URL; scheme-less endpoints use TLS when TLS files are given. */
export function normaliseEndpoint(raw: string, tls: boolean): string {
  const e = raw.trim();
  if (/^https?:\/\//.test(e)) return e.replace(/\/+$/, '');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(e)) {
    throw new UsageError(`--endpoints: expected http:// or https:// URLs or host:port, found '${raw}'`);
  }
  return `${tls ? 'https' : 'http'}://${e}`;
}

/** Flags first, then ETCDCTL_* variables, then etcdctl's defaults. */
export function resolveConnection(
  flags: ConnectionFlagValues,
  env: NodeJS.ProcessEnv = process.env,
): ConnectionConfig {
  const tls: TlsFiles = {};
  const ca = flags.cacert ?? env.ETCDCTL_CACERT;
  const cert = flags.cert ?? env.ETCDCTL_CERT;
  const key = flags.key ?? env.ETCDCTL_KEY;
  if (ca) tls.ca = ca;
  if (cert) tls.cert = cert;
  if (key) tls.key = key;
  if (Boolean(tls.cert) !== Boolean(tls.key)) {
    throw new UsageError('--cert and --key must be given together');
  }
  const useTls = Boolean(ca || cert);
  const raw = flags.endpoints ?? env.ETCDCTL_ENDPOINTS ?? '127.0.0.1:2379';
  const endpoints = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((e) => normaliseEndpoint(e, useTls));
  if (endpoints.length === 0) throw new UsageError('--endpoints: expected at least one URL, found none');
  const dial = flags.dialTimeout ?? env.ETCDCTL_DIAL_TIMEOUT;
  const command = flags.commandTimeout ?? env.ETCDCTL_COMMAND_TIMEOUT;
  return {
    endpoints,
    tls,
    dialTimeoutMs: dial ? parseDuration(dial, '--dial-timeout') : 5000,
    commandTimeoutMs: command ? parseDuration(command, '--command-timeout') : 5000,
  };
}

/** Reads the TLS files; a missing file is a NotFoundError naming the flag. */
export function readTlsMaterial(tls: TlsFiles): TlsMaterial {
  const read = (path: string | undefined, flag: string): Buffer | undefined => {
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch {
      throw new NotFoundError(`${flag} file ${path}`);
    }
  };
  const out: TlsMaterial = {};
  const ca = read(tls.ca, '--cacert');
  const cert = read(tls.cert, '--cert');
  const key = read(tls.key, '--key');
  if (ca) out.ca = ca;
  if (cert) out.cert = cert;
  if (key) out.key = key;
  return out;
}
