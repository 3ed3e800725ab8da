/**
 * One external lab (3 etcd hosts + 2 control-plane hosts, 2 kwok workers, loopback network) reused for:
 * pods run; one etcd member killed keeps the API writable; two killed make writes fail with a clear error
 * within 15 s and starting them heals it; a wiped member is refused on start; partition is refused on a
 * loopback lab with the reason; the CLI reports status; SIGKILL of the supervisor leaves no process after 5 s.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { downLab, labRequest, labStatus, upLab, type LabUpResult } from '../../../src/lab/lab.js';
import { RefusedError } from '../../../src/util/errors.js';
import { runCli } from '../../helpers/cli.js';
import { killSupervisorAndCollectSurvivors, kubectl, waitFor } from '../../helpers/lab.js';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-lab-external-'));
let up: LabUpResult;

before(async () => {
  up = await upLab({ dir, topology: 'external', nodes: 2, network: 'loopback', ownerPid: process.pid });
  process.stderr.write(`# lab up (external, 3 etcd + 2 cp, 2 kwok nodes, loopback): ${up.ms} ms\n`);
});

after(async () => {
  await downLab({ dir }).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

test('lab status over the CLI: etcd-1..3 run etcd only, cp-1..2 the control plane, each on its own 127.X.Y.N', async () => {
  const r = await runCli(['lab', 'status', '--dir', dir, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as Awaited<ReturnType<typeof labStatus>>;
  const byHost = new Map<string, string[]>();
  for (const c of s.components) byHost.set(c.host, [...(byHost.get(c.host) ?? []), c.component]);
  assert.deepEqual(Object.fromEntries(byHost), {
    'etcd-1': ['etcd'],
    'etcd-2': ['etcd'],
    'etcd-3': ['etcd'],
    'cp-1': ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'],
    'cp-2': ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'],
    'worker-1': ['kwok'],
    'worker-2': ['kwok'],
  });
  const ips = new Set(s.components.map((c) => c.address.split(':')[0]));
  assert.equal(ips.size, 7);
  for (const ip of ips) assert.match(ip!, /^127\.\d+\.\d+\.\d+$/);
  const table = await runCli(['lab', 'status', '--dir', dir]);
  assert.match(table.stdout, /HOST\s+COMPONENT\s+ADDRESS\s+STATE\s+PID\s+HEALTH\s+LEADER/);
});

test('every certificate of the lab (etcd members and clients, apiservers, controllers) is valid for a year', () => {
  const crts = (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.crt'));
  assert.ok(crts.length >= 10, `found ${crts.length} certificates: ${crts.join(', ')}`);
  const minEnd = Date.now() + 300 * 86_400_000;
  for (const f of crts) {
    const notAfter = Date.parse(new X509Certificate(readFileSync(join(dir, f))).validTo);
    assert.ok(notAfter > minEnd, `${f} expires on ${new Date(notAfter).toISOString()}`);
  }
});

test("a Deployment's pods become Running on the two kwok nodes", async () => {
  const c = await kubectl(dir, [
    'create',
    'deployment',
    'api',
    '--image=registry.example/api:2',
    '--replicas=4',
  ]);
  assert.equal(c.code, 0, c.stderr);
  await waitFor(
    'four Running pods',
    async () => {
      const r = await kubectl(dir, [
        'get',
        'pods',
        '-l',
        'app=api',
        '-o',
        'jsonpath={.items[*].status.phase}',
      ]);
      const phases = r.stdout.split(' ').filter(Boolean);
      return phases.length === 4 && phases.every((p) => p === 'Running') ? true : undefined;
    },
    60000,
  );
});

test('lab logs prints the tail of each log of a host; an unknown host is a clear not-found (exit 4)', async () => {
  const r = await runCli(['lab', 'logs', 'cp-1', 'kube-scheduler', '--dir', dir, '-n', '5']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^==> .*hosts\/cp-1\/kube-scheduler\.log <==\n/);
  assert.ok(r.stdout.trimEnd().split('\n').length <= 6);
  const bad = await runCli(['lab', 'logs', 'cp-9', '--dir', dir]);
  assert.equal(bad.code, 4);
  assert.match(
    bad.stderr,
    /host cp-9 not found .*hosts: etcd-1, etcd-2, etcd-3, cp-1, cp-2, worker-1, worker-2/,
  );
});

test('partition is refused on a loopback lab, with the reason (exit 6)', async () => {
  const r = await runCli(['lab', 'partition', 'etcd-1', '--dir', dir]);
  assert.equal(r.code, 6, r.stderr);
  assert.match(r.stderr, /--network netns.*loopback/);
});

test('one etcd member killed: writes go on; two killed: writes fail clearly within 15 s; started again: healed', async () => {
  await labRequest({ dir }, 'kill', 'etcd-1');
  let w1 = await kubectl(dir, ['create', 'configmap', 'one-down', '--request-timeout=10s']);
  for (let i = 0; i < 3 && w1.code !== 0; i++) {
    w1 = await kubectl(dir, ['create', 'configmap', 'one-down', '--request-timeout=10s']);
  }
  assert.equal(w1.code, 0, `write with one etcd member down: ${w1.stderr}`);
  await labRequest({ dir }, 'kill', 'etcd-2');
  const w2 = await kubectl(dir, ['create', 'configmap', 'two-down', '--request-timeout=10s'], 20000);
  process.stderr.write(`# write without etcd quorum failed after ${w2.ms} ms: ${w2.stderr.trim()}\n`);
  assert.notEqual(w2.code, 0, 'a write without quorum must fail');
  assert.ok(w2.ms < 15000, `the failing write took ${w2.ms} ms`);
  assert.match(w2.stderr, /timeout|timed out|deadline|unavailable|no leader/i);
  await labRequest({ dir }, 'start', 'etcd-1');
  await labRequest({ dir }, 'start', 'etcd-2');
  const w3 = await waitFor(
    'a write after the restart',
    async () => {
      const r = await kubectl(dir, ['create', 'configmap', 'healed', '--request-timeout=10s']);
      return r.code === 0 || /already exists/.test(r.stderr) ? r : undefined;
    },
    30000,
    500,
  );
  assert.ok(w3.ms < 30000);
  const g = await kubectl(dir, ['get', 'configmap', 'one-down', 'healed', '-o', 'name']);
  assert.equal(g.stdout.trim().split('\n').length, 2, g.stderr);
});

test('a wiped etcd member is refused on start, pointing at member replacement', async () => {
  await labRequest({ dir }, 'wipe', 'etcd-3');
  await assert.rejects(labRequest({ dir }, 'start', 'etcd-3'), (err: Error) => {
    assert.ok(err instanceof RefusedError, `${err.name}: ${err.message}`);
    assert.match(err.message, /etcd-3 lost its data directory.*member remove.*member add/);
    return true;
  });
  const s = await labStatus({ dir });
  assert.equal(s.components.find((c) => c.host === 'etcd-3')!.state, 'wiped');
  const w = await kubectl(dir, ['create', 'configmap', 'after-wipe', '--request-timeout=10s']);
  assert.equal(w.code, 0, `two of three members keep the API writable: ${w.stderr}`);
});

test('SIGKILL of the supervisor leaves no lab process after 5 s', async () => {
  const { recorded, left } = await killSupervisorAndCollectSurvivors(dir);
  assert.ok(recorded >= 8, `${recorded} recorded running processes`);
  assert.deepEqual(left, [], `still running 5 s after SIGKILL: ${left.join(', ')}`);
});
