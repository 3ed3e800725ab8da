/**
 * Shared driver for the snapshot-reader integration tests: a workload against a real etcd (harness), the
 * expected answers from the real etcdctl/etcdutl, and the checks of Lifeboat's answers against them.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { etcdBinaries, type EtcdMinor } from '../../../src/lab/binaries.js';
import type { Harness } from '../../../src/lab/harness.js';
import { EtcdDb } from '../../../src/etcd/index.js';
import { openSnapshot } from '../../../src/snapshot/index.js';
import { runCli } from '../../helpers/cli.js';
import { parseExactJson, type ExactJson } from './exact-json.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  stdoutBytes?: Buffer;
}

export function run(
  cmd: string,
  args: string[],
  input?: Buffer | string,
  timeoutMs = 120000,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ETCDCTL_API: '3' },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const bytes = Buffer.concat(out);
      resolve({
        code: code ?? -1,
        stdout: bytes.toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        stdoutBytes: bytes,
      });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

/**
 * Runs a Lifeboat command group in this process — the group's real `define` and commander parsing, with
 * errors mapped to exit codes as src/cli/main.ts maps them — capturing stdout and stderr: dozens of
 * comparisons without a Node start-up each. (main() itself is not used: it runs the process-wide cleanups,
 * which would stop this test's harness.)
 */
export async function cliInProcess(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string; stdoutBytes: Buffer }> {
  const { Command, CommanderError } = await import('commander');
  const { groups } = await import('../../../src/cli/groups.js');
  const { exitCodeOf, oneLine } = await import('../../../src/util/errors.js');
  const { sink } = await import('../../../src/cli/commands/output.js');
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const savedWrite = sink.write;
  sink.write = (chunk: string | Buffer): boolean => {
    out.push(Buffer.from(chunk));
    return true;
  };
  let code = 0;
  try {
    const program = new Command('lifeboat').exitOverride();
    const group = groups.find((g) => g.name === args[0])!;
    const cmd = program.command(group.name);
    (await group.load()).define(cmd);
    const quiet = (c: InstanceType<typeof Command>): void => {
      c.exitOverride().configureOutput({ writeErr: () => undefined, outputError: () => undefined });
      for (const sub of c.commands) quiet(sub);
    };
    quiet(program);
    await program.parseAsync(args, { from: 'user' });
  } catch (e) {
    code = e instanceof CommanderError ? 2 : exitCodeOf(e);
    err.push(Buffer.from(`lifeboat: error: ${oneLine(e)}\n`));
  } finally {
    sink.write = savedWrite;
  }
  const bytes = Buffer.concat(out);
  return {
    code,
    stdout: bytes.toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
    stdoutBytes: bytes,
  };
}

export class Ctl {
  constructor(
    readonly h: Harness,
    /** etcdctl binary (the version's own unless given). */
    readonly bin = h.etcd.binaries.etcdctl,
  ) {}

  private flags(): string[] {
    const t = this.h.etcd.clientTls;
    return [
      `--endpoints=${this.h.etcd.endpoints[0]}`,
      ...(t ? [`--cacert=${t.ca}`, `--cert=${t.cert}`, `--key=${t.key}`] : []),
    ];
  }

  async run(args: string[], input?: Buffer | string): Promise<RunResult> {
    return run(this.bin, [...this.flags(), ...args], input);
  }

  async ok(args: string[], input?: Buffer | string): Promise<string> {
    const r = await this.run(args, input);
    assert.equal(r.code, 0, `etcdctl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  }

  async revision(): Promise<bigint> {
    const j = parseExactJson(await this.ok(['get', 'no-such-key-probe', '-w', 'json'])) as {
      header: { revision: bigint };
    };
    return j.header.revision;
  }

  /** One transaction of puts (sub revisions 0..n-1). */
  async txnPuts(pairs: [string, string][]): Promise<void> {
    const body = `\n${pairs.map(([k, v]) => `put ${k} ${v}`).join('\n')}\n\n\n`;
    await this.ok(['txn'], body);
  }
}

export interface Workload {
  /** Snapshot A: after a physical compaction at rc and more writes; head = headA. */
  snapA: string;
  /** Snapshot B: A plus a delete and a physical compaction at head right after it. */
  snapB: string;
  rc: bigint;
  rmid: bigint;
  headA: bigint;
  headB: bigint;
  leaseIds: bigint[];
  /** etcdctl get -w json answers recorded while the server was at snapshot A's state. */
  expectedA: Map<string, RunResult>;
  expectedB: Map<string, RunResult>;
  /** simple and fields outputs at headA: [args after `get`, etcdctl's result]. */
  raw: [string[], RunResult][];
  hashA: Map<string, ExactJson>;
  hashB: Map<string, ExactJson>;
}

/** The get queries compared byte for byte (args after `get`, without --rev). */
export const QUERIES: string[][] = [
  ['', '--prefix'],
  ['/app/k00', '--prefix'],
  ['/app/k0001'],
  ['/lease/', '--prefix'],
  ['bin/', '--prefix'],
  ['/app/', '--prefix', '--keys-only'],
  ['/app/', '--prefix', '--limit', '5'],
  ['/more', '--from-key', '--keys-only'],
  ['/app/k0100', '/app/k0120'],
];

export function queryId(q: string[], rev: bigint): string {
  return JSON.stringify([...q, rev.toString()]);
}

async function record(
  ctl: Ctl,
  revs: bigint[],
  into: Map<string, RunResult>,
  queries = QUERIES,
): Promise<void> {
  for (const rev of revs) {
    for (const q of queries) {
      into.set(queryId(q, rev), await ctl.run(['get', ...q, '--rev', rev.toString(), '-w', 'json']));
    }
  }
}

async function recordHash(ctl: Ctl, revs: bigint[], into: Map<string, ExactJson>): Promise<void> {
  for (const rev of revs) {
    const out = await ctl.ok(['endpoint', 'hashkv', ...(rev ? ['--rev', rev.toString()] : []), '-w', 'json']);
    const j = parseExactJson(out) as { HashKV: ExactJson }[];
    into.set(rev.toString(), j[0]!.HashKV);
  }
}

export async function runWorkload(h: Harness, dir: string): Promise<Workload> {
  mkdirSync(dir, { recursive: true });
  const queries = QUERIES;
  const ctl = new Ctl(h);
  // etcdctl 3.6 can raise its client-side send limit: used for the multi-MiB values on every server.
  const big = new Ctl(h, etcdBinaries('3.6').etcdctl);
  const pad = (i: number) => String(i).padStart(4, '0');
  for (let t = 0; t < 20; t++) {
    await ctl.txnPuts(
      Array.from({ length: 100 }, (_, j) => [`/app/k${pad(t * 100 + j)}`, `v1-${t * 100 + j}`]),
    );
  }
  for (let t = 0; t < 5; t++) {
    await ctl.txnPuts(
      Array.from({ length: 100 }, (_, j) => [`/app/k${pad(t * 100 + j)}`, `v2-${t * 100 + j}`]),
    );
  }
  const leaseIds: bigint[] = [];
  for (let i = 0; i < 6 && leaseIds.filter((l) => l > 2n ** 53n).length < 2; i++) {
    const out = await ctl.ok(['lease', 'grant', '3600']);
    const m = /lease ([0-9a-f]+) granted/.exec(out);
    assert.ok(m, `unexpected lease grant output: ${out}`);
    leaseIds.push(BigInt(`0x${m[1]}`));
  }
  const bigLease = leaseIds.filter((l) => l > 2n ** 53n);
  assert.ok(bigLease.length >= 1, `no lease id above 2^53 among ${leaseIds.join(', ')}`);
  await ctl.ok(['put', '/lease/a', 'leased-a', `--lease=${bigLease[0]!.toString(16)}`]);
  await ctl.ok(['put', '/lease/b', 'leased-b', `--lease=${(bigLease[1] ?? bigLease[0]!).toString(16)}`]);
  // Binary keys and values (values through stdin keep every byte).
  await ctl.ok(['put', 'bin/\u0001\u0002\u007f'], Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, 10, 13]));
  await ctl.ok(['put', 'bin/ключ-\t'], randomBytes(300));
  // Large values: overflow pages.
  await big.ok(['--max-request-bytes=10485760', 'put', '/big/a'], randomBytes(3 * 1024 * 1024 + 17));
  await big.ok(['--max-request-bytes=10485760', 'put', '/big/b'], randomBytes(200 * 1024));
  await big.ok(['--max-request-bytes=10485760', 'put', '/big/c'], randomBytes(6 * 1024 * 1024));
  await big.ok(['--max-request-bytes=10485760', 'put', '/big/a'], randomBytes(5000));
  // Deletes and re-creates.
  await ctl.ok(['del', '/app/k00', '--prefix']);
  await ctl.txnPuts(
    Array.from({ length: 10 }, (_, j) => [`/app/k00${String(j).padStart(2, '0')}`, `v3-${j}`]),
  );
  await ctl.ok(['del', '/app/k0005']);
  const rmid = await ctl.revision();
  for (let t = 0; t < 3; t++) {
    await ctl.txnPuts(
      Array.from({ length: 50 }, (_, j) => [`/app/k${pad(1000 + t * 50 + j)}`, `v4-${t}-${j}`]),
    );
  }
  const rc = rmid - 2n;
  await ctl.ok(['compact', rc.toString(), '--physical']);
  await ctl.txnPuts(Array.from({ length: 100 }, (_, j) => [`/more/m${pad(j)}`, `m-${j}`]));
  await ctl.ok(['put', '/app/k0001', 'after-compaction']);
  const headA = await ctl.revision();
  const snapA = join(dir, 'a.snap');
  await ctl.ok(['snapshot', 'save', snapA]);
  const expectedA = new Map<string, RunResult>();
  const hashA = new Map<string, ExactJson>();
  const revsA = [rc, rc + 1n, rmid, headA - 1n, headA];
  await record(ctl, revsA, expectedA, queries);
  await record(ctl, [rc - 1n, headA + 1n], expectedA, [['/app/k0001']]);
  await recordHash(ctl, [headA, rmid], hashA);
  const raw: [string[], RunResult][] = [];
  for (const args of [
    ['', '--prefix'],
    ['bin/', '--prefix', '-w', 'fields'],
    ['/lease/', '--prefix', '-w', 'fields'],
    ['/app/k01', '--prefix', '--print-value-only'],
    ['/app/', '--prefix', '--keys-only', '--limit', '3', '-w', 'fields'],
    // Simple keys-only listings take a path of their own (no KeyValue per key); binary keys included.
    ['', '--prefix', '--keys-only'],
    ['/app/', '--prefix', '--keys-only', '--print-value-only'],
    ['/app/k0003', '--from-key', '--keys-only'],
    ...(h.etcd.binaries.minor === '3.4' ? [] : [['/app/', '--prefix', '--count-only', '-w', 'fields']]),
  ]) {
    raw.push([args, await ctl.run(['get', ...args])]);
  }

  // A delete, then a physical compaction at head right after it.
  await ctl.ok(['del', '/app/k0002']);
  const headB = await ctl.revision();
  await ctl.ok(['compact', headB.toString(), '--physical']);
  const snapB = join(dir, 'b.snap');
  await ctl.ok(['snapshot', 'save', snapB]);
  const expectedB = new Map<string, RunResult>();
  const hashB = new Map<string, ExactJson>();
  await record(ctl, [headB], expectedB, queries);
  await record(ctl, [headB - 1n, headB + 1n], expectedB, [['/app/k0001']]);
  // Not --rev headB: at exactly a compaction revision etcd answers from the hash it cached while compacting
  // (over the entries before the compaction, compact_revision = the previous one), which no file holds.
  // Revision 0 (current) is computed afresh, as after a restart.
  await recordHash(ctl, [0n], hashB);
  return { snapA, snapB, rc, rmid, headA, headB, leaseIds, expectedA, expectedB, hashA, hashB, raw };
}

/** etcdctl's JSON without cluster_id/member_id (a file does not hold them). */
export function stripIds(s: string): string {
  return s.replace(/"cluster_id":\d+,"member_id":\d+,/, '');
}

/** Lifeboat's kv get answers equal etcdctl's for every recorded query. */
export async function compareGets(file: string, expected: Map<string, RunResult>): Promise<number> {
  let n = 0;
  // etcd 3.4 does not store the raft term in the database: a file written by it cannot give raft_term.
  const snap = await openSnapshot(file);
  const hasTerm = snap.db.meta().term !== undefined;
  snap.close();
  for (const [id, exp] of expected) {
    const parts = JSON.parse(id) as string[];
    const rev = parts.pop()!;
    const r = await cliInProcess(['kv', 'get', ...parts, '--rev', rev, '-w', 'json', '--from', file]);
    if (exp.code === 0) {
      assert.equal(r.code, 0, `lifeboat kv get ${parts.join(' ')} --rev ${rev} failed: ${r.stderr}`);
      const want = hasTerm
        ? stripIds(exp.stdout.trim())
        : stripIds(exp.stdout.trim()).replace(/,"raft_term":\d+/, '');
      assert.deepEqual(
        parseExactJson(r.stdout),
        parseExactJson(want),
        `kv get ${parts.join(' ')} --rev ${rev}`,
      );
      assert.equal(r.stdout.trim(), want, `byte-for-byte: kv get ${parts.join(' ')} --rev ${rev}`);
    } else {
      const m = /required revision (has been compacted|is a future revision)/.exec(exp.stderr);
      assert.ok(m, `etcdctl refused with an unexpected error: ${exp.stderr}`);
      assert.equal(r.code, 4, `lifeboat should refuse --rev ${rev}: ${r.stdout} ${r.stderr}`);
      assert.match(r.stderr, new RegExp(m[0]));
      assert.equal(r.stderr.trim().split('\n').length, 1, 'one line on stderr');
    }
    n++;
  }
  return n;
}

/** simple and fields output equal etcdctl's byte for byte (fields: without the ClusterID/MemberID lines). */
export async function compareRaw(file: string, raw: [string[], RunResult][]): Promise<void> {
  // etcd 3.4 does not store the raft term in the database: a file written by it cannot give RaftTerm.
  const snap = await openSnapshot(file);
  const hasTerm = snap.db.meta().term !== undefined;
  snap.close();
  const norm = (b: Buffer) => {
    const t = b.toString('latin1').replace(/^"ClusterID" : \d+\n"MemberID" : \d+\n/, '');
    return hasTerm ? t : t.replace(/^("Revision" : \d+\n)"RaftTerm" : \d+\n/, '$1');
  };
  for (const [args, exp] of raw) {
    assert.equal(exp.code, 0, `etcdctl get ${args.join(' ')}: ${exp.stderr}`);
    const r = await cliInProcess(['kv', 'get', ...args, '--from', file]);
    assert.equal(r.code, 0, `lifeboat kv get ${args.join(' ')}: ${r.stderr}`);
    assert.equal(norm(r.stdoutBytes), norm(exp.stdoutBytes!), `kv get ${args.join(' ')}`);
  }
}

export interface StatusJson {
  hash: bigint;
  revision: bigint;
  totalKey: bigint;
  totalSize: bigint;
  version?: string;
}

export async function etcdutlStatus(bin: string, args: string[], file: string): Promise<StatusJson> {
  const r = await run(bin, [...args, 'snapshot', 'status', file, '-w', 'json']);
  assert.equal(r.code, 0, `${bin} snapshot status failed: ${r.stderr}`);
  return parseExactJson(r.stdout.trim()) as unknown as StatusJson;
}

export async function lifeboatStatus(
  file: string,
  spawnBinary = false,
  extraArgs: string[] = [],
): Promise<Record<string, ExactJson>> {
  const args = ['snapshot', 'status', file, '-o', 'json', ...extraArgs];
  const r = spawnBinary ? await runCli(args, { timeoutMs: 60000 }) : await cliInProcess(args);
  assert.equal(r.code, 0, `lifeboat snapshot status ${file} failed: ${r.stderr}`);
  return parseExactJson(r.stdout) as Record<string, ExactJson>;
}

/** Status equals etcdutl 3.5's (and etcdctl 3.4's), liveKeys equals etcdutl 3.6's totalKey. */
export async function compareStatus(
  file: string,
  spawnBinary = false,
  extraArgs: string[] = [],
): Promise<Record<string, ExactJson>> {
  const ours = await lifeboatStatus(file, spawnBinary, extraArgs);
  const u35 = await etcdutlStatus(etcdBinaries('3.5').etcdutl!, [], file);
  const u36 = await etcdutlStatus(etcdBinaries('3.6').etcdutl!, [], file);
  const c34 = await etcdutlStatus(etcdBinaries('3.4').etcdctl, [], file);
  for (const ref of [u35, c34]) {
    assert.equal(ours.hash, ref.hash, `hash of ${file}`);
    assert.equal(ours.revision, ref.revision, `revision of ${file}`);
    assert.equal(ours.totalKey, ref.totalKey, `totalKey of ${file}`);
    assert.equal(ours.totalSize, ref.totalSize, `totalSize of ${file}`);
  }
  assert.equal(ours.hash, u36.hash, `hash vs etcdutl 3.6 of ${file}`);
  assert.equal(ours.liveKeys, u36.totalKey, `liveKeys vs etcdutl 3.6 totalKey of ${file}`);
  assert.equal(ours.version ?? '', u36.version ?? '', `version of ${file}`);
  // The CRC of large values runs on a helper thread for big files; force both paths on this one.
  const db = EtcdDb.open(file);
  try {
    for (const parallel of [true, false]) {
      const st = db.status({ parallel });
      assert.equal(BigInt(st.hash), u35.hash, `hash of ${file} with parallel=${parallel}`);
      assert.equal(BigInt(st.liveKeys), u36.totalKey, `liveKeys of ${file} with parallel=${parallel}`);
    }
  } finally {
    db.close();
  }
  return ours;
}

export function compareHashKV(file: string, expected: Map<string, ExactJson>): void {
  const db = EtcdDb.open(file);
  try {
    for (const [rev, exp] of expected) {
      const e = exp as { hash: bigint; compact_revision: bigint; hash_revision?: bigint };
      const got = db.hashKV(BigInt(rev));
      assert.equal(BigInt(got.hash), e.hash, `hashKV at ${rev} of ${file}`);
      // Large values go to a helper thread on big files; force both paths on this one.
      for (const parallel of [true, false]) {
        const h = db.hashKV(BigInt(rev), { parallel });
        assert.equal(BigInt(h.hash), e.hash, `hashKV at ${rev} of ${file}, parallel=${parallel}`);
      }
      assert.equal(got.compactRevision, e.compact_revision, `hashKV compact revision at ${rev}`);
      if (e.hash_revision !== undefined) assert.equal(got.revision, e.hash_revision);
    }
  } finally {
    db.close();
  }
}

export function writeZip(
  dir: string,
  name: string,
  members: [string, string][],
  zip64: boolean,
): Promise<string> {
  const out = join(dir, name);
  const script = [
    'import sys, zipfile',
    'out = sys.argv[1]; zip64 = sys.argv[2] == "1"; args = sys.argv[3:]',
    'with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as z:',
    '    for i in range(0, len(args), 2):',
    '        with open(args[i + 1], "rb") as f, z.open(args[i], "w", force_zip64=zip64) as w:',
    '            w.write(f.read())',
  ].join('\n');
  return run('python3', ['-c', script, out, zip64 ? '1' : '0', ...members.flat()]).then((r) => {
    assert.equal(r.code, 0, `python3 zipfile failed: ${r.stderr}`);
    return out;
  });
}

export function writeGzip(dir: string, file: string): string {
  const out = join(dir, 'snap.db.gz');
  writeFileSync(out, gzipSync(readFileSync(file)));
  return out;
}

export function copyFile(from: string, to: string): string {
  rmSync(to, { force: true });
  copyFileSync(from, to);
  return to;
}

export type { EtcdMinor };
