/** Runs the real etcdctl of a harness against its cluster (TLS flags filled in). */
import { execFile } from 'node:child_process';
import type { Harness } from '../../src/lab/harness.js';

export interface EtcdctlResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export function etcdctl(
  h: Harness,
  args: string[],
  opts: { endpoints?: string[]; timeoutMs?: number } = {},
): Promise<EtcdctlResult> {
  const tls = h.etcd.clientTls;
  const full = [
    `--endpoints=${(opts.endpoints ?? h.etcd.endpoints).join(',')}`,
    ...(tls ? [`--cacert=${tls.ca}`, `--cert=${tls.cert}`, `--key=${tls.key}`] : []),
    ...args,
  ];
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      h.etcd.binaries.etcdctl,
      full,
      { env: { ...process.env, ETCDCTL_API: '3' }, timeout: opts.timeoutMs ?? 60000, maxBuffer: 1 << 28 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr, ms: Date.now() - started });
      },
    );
  });
}
