/** Running kubectl and etcdctl against a lab from tests, and reading who leads. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { etcdBinaries, kubernetesBinaries } from '../../src/lab/binaries.js';
import { labStatus } from '../../src/lab/lab.js';
import type { LabStatus } from '../../src/lab/supervisor.js';
import { readState } from '../../src/lab/lab-files.js';
import { stillRunning } from '../../src/lab/proc-identity.js';
import { waitUntil } from './procs.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(cmd: string, args: string[], timeoutMs = 60000): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve) =>
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 1 << 26 }, (err, stdout, stderr) =>
      resolve({
        code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
        stdout,
        stderr,
        ms: Date.now() - started,
      }),
    ),
  );
}

export function kubectl(dir: string, args: string[], timeoutMs = 60000): Promise<RunResult> {
  return run(kubernetesBinaries().kubectl, ['--kubeconfig', join(dir, 'kubeconfig'), ...args], timeoutMs);
}

/** etcdctl with the lab's client certificate against the given member addresses (host:port). */
export function etcdctl(
  dir: string,
  addresses: string[],
  args: string[],
  timeoutMs = 30000,
): Promise<RunResult> {
  const pki = join(dir, 'pki');
  return run(
    etcdBinaries('3.6').etcdctl,
    [
      `--endpoints=${addresses.map((a) => `https://${a}`).join(',')}`,
      `--cacert=${join(pki, 'ca.crt')}`,
      `--cert=${join(pki, 'etcd-client.crt')}`,
      `--key=${join(pki, 'etcd-client.key')}`,
      ...args,
    ],
    timeoutMs,
  );
}

export function etcdAddresses(s: LabStatus): Map<string, string> {
  return new Map(s.components.filter((c) => c.component === 'etcd').map((c) => [c.host, c.address]));
}

/** Per member address: whether it leads and its revision, from `etcdctl endpoint status` (one at a time). */
export async function memberStatus(
  dir: string,
  address: string,
): Promise<{ leader: boolean; revision: bigint; memberId: string } | undefined> {
  const r = await etcdctl(dir, [address], ['--command-timeout=2s', 'endpoint', 'status', '-w', 'json'], 5000);
  if (r.code !== 0) return undefined;
  // Ids and revisions are uint64/int64: read them as text, never through a JS number.
  const leader = /"leader":(\d+)/.exec(r.stdout)?.[1];
  const member = /"member_id":(\d+)/.exec(r.stdout)?.[1];
  const rev = /"revision":(\d+)/.exec(r.stdout)?.[1];
  if (!member || !rev) return undefined;
  return { leader: leader === member, revision: BigInt(rev), memberId: member };
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs: number,
  stepMs = 250,
): Promise<{ value: T; ms: number }> {
  const t0 = Date.now();
  let last: T | undefined;
  while (Date.now() - t0 < timeoutMs) {
    last = await fn().catch(() => undefined);
    if (last !== undefined) return { value: last, ms: Date.now() - t0 };
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`${what}: not reached within ${timeoutMs} ms`);
}

export async function leaderOf(
  dir: string,
  which: 'etcd' | 'controllerManager' | 'scheduler',
): Promise<string | undefined> {
  const s = await labStatus({ dir });
  return which === 'etcd'
    ? s.etcdLeader
    : which === 'controllerManager'
      ? s.controllerManagerLeader
      : s.schedulerLeader;
}

/**
 * SIGKILLs the lab's supervisor and reports, after up to 5 s, which of its recorded processes still run
 * (the list is empty when pdeathsig took everything down). Returns how many were recorded as well.
 */
export async function killSupervisorAndCollectSurvivors(
  dir: string,
): Promise<{ recorded: number; left: number[] }> {
  const st = readState(dir)!;
  const ids = st.processes.flatMap((p) => (p.identity ? [p.identity] : []));
  if (!ids.every(stillRunning)) throw new Error('a recorded lab process was not running before the kill');
  process.kill(st.supervisor!.pid, 'SIGKILL');
  await waitUntil(() => ids.every((p) => !stillRunning(p)), 5000);
  return { recorded: ids.length, left: ids.filter(stillRunning).map((p) => p.pid) };
}
