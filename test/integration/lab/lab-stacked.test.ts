/**
 * One stacked lab (3 control-plane hosts each running etcd, kube-apiserver, kube-controller-manager and
 * kube-scheduler; 3 kwok workers; network namespaces) reused for: pods run through the real scheduler and
 * controllers; one apiserver killed behind the balancer; the controller-manager leader killed; the etcd
 * leader partitioned and healed; stop/start keeping data; `lab up` starting only what is missing; `lab down`
 * leaving no process.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { downLab, labRequest, labStatus, upLab, type LabUpResult } from '../../../src/lab/lab.js';
import { readConfig, readState } from '../../../src/lab/lab-files.js';
import { seedLab } from '../../../src/lab/seed.js';
import { stillRunning } from '../../../src/lab/proc-identity.js';
import {
  etcdAddresses,
  etcdctl,
  killSupervisorAndCollectSurvivors,
  kubectl,
  leaderOf,
  memberStatus,
  waitFor,
} from '../../helpers/lab.js';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-lab-stacked-'));
let up: LabUpResult;

before(async () => {
  up = await upLab({ dir, topology: 'stacked', network: 'netns', ownerPid: process.pid });
  process.stderr.write(`# lab up (stacked, 3 cp, 3 kwok nodes, netns): ${up.ms} ms\n`);
});

after(async () => {
  await downLab({ dir }).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

test('lab up: 15 processes, all running and healthy, one leader each for etcd, controller-manager, scheduler', async () => {
  assert.ok(up.ms < 120000, `lab up took ${up.ms} ms`);
  const s = await waitFor(
    'all healthy with leaders',
    async () => {
      const st = await labStatus({ dir });
      return st.components.every((c) => c.healthy) && st.controllerManagerLeader && st.schedulerLeader
        ? st
        : undefined;
    },
    30000,
  );
  const st = s.value;
  assert.equal(st.components.length, 15);
  assert.deepEqual(
    [...new Set(st.components.map((c) => c.host))],
    ['cp-1', 'cp-2', 'cp-3', 'worker-1', 'worker-2', 'worker-3'],
  );
  for (const comp of ['etcd', 'kube-controller-manager', 'kube-scheduler']) {
    assert.equal(st.components.filter((c) => c.component === comp && c.leader).length, 1, comp);
  }
  assert.match(st.balancer, /^https:\/\/10\.\d+\.\d+\.1:6443$/);
  const nodes = await kubectl(dir, ['get', 'nodes', '-o', 'jsonpath={.items[*].metadata.name}']);
  assert.equal(nodes.code, 0, nodes.stderr);
  assert.deepEqual(nodes.stdout.split(' ').sort(), ['worker-1', 'worker-2', 'worker-3']);
});

test("a Deployment's pods become Running on kwok nodes through the real scheduler and controllers", async () => {
  const c = await kubectl(dir, [
    'create',
    'deployment',
    'web',
    '--image=registry.example/web:1',
    '--replicas=3',
  ]);
  assert.equal(c.code, 0, c.stderr);
  const pods = await waitFor(
    'three Running pods',
    async () => {
      const r = await kubectl(dir, ['get', 'pods', '-l', 'app=web', '-o', 'json']);
      const items = (
        JSON.parse(r.stdout) as { items: Array<{ spec: { nodeName?: string }; status: { phase: string } }> }
      ).items;
      return items.length === 3 && items.every((p) => p.status.phase === 'Running') ? items : undefined;
    },
    60000,
  );
  for (const p of pods.value) assert.match(p.spec.nodeName ?? '', /^worker-[123]$/);
});

test('lab seed creates the workload through the API and its pods run', async () => {
  const r = await seedLab({ dir });
  process.stderr.write(
    `# lab seed: ${r.objects.length} objects, ${r.runningPods} pods Running in ${r.ms} ms\n`,
  );
  assert.equal(r.runningPods, r.expectedPods);
  assert.equal(r.expectedPods, 8);
  for (const [args, want] of [
    [['-n', 'shop', 'get', 'configmap', 'app-config', '-o', 'jsonpath={.data.MODE}'], 'production'],
    [['-n', 'shop', 'get', 'secret', 'db-credentials', '-o', 'jsonpath={.type}'], 'Opaque'],
    [['-n', 'shop', 'get', 'pdb', 'web', '-o', 'jsonpath={.spec.minAvailable}'], '2'],
    [['-n', 'billing', 'get', 'drillschedule', 'weekly-full-restore', '-o', 'jsonpath={.spec.retain}'], '4'],
    [['get', 'clusterrolebinding', 'lab-auditor', '-o', 'jsonpath={.roleRef.name}'], 'lab-auditor'],
    [['-n', 'shop', 'get', 'service', 'web', '-o', 'jsonpath={.spec.ports[0].port}'], '80'],
  ] as const) {
    const g = await kubectl(dir, [...args]);
    assert.equal(g.stdout, want, `${args.join(' ')}: ${g.stderr}`);
  }
  const again = await seedLab({ dir });
  assert.equal(again.objects.length, r.objects.length, 'seeding twice is harmless');
});

test('killing one kube-apiserver keeps kubectl working through the load balancer', async () => {
  await labRequest({ dir }, 'kill', 'cp-1', 'kube-apiserver');
  const st = await labStatus({ dir });
  assert.equal(
    st.components.find((c) => c.host === 'cp-1' && c.component === 'kube-apiserver')!.state,
    'killed',
  );
  for (let i = 0; i < 6; i++) {
    const r = await kubectl(dir, [
      'create',
      'configmap',
      `after-apiserver-kill-${i}`,
      '--from-literal=i=' + i,
    ]);
    assert.equal(r.code, 0, `kubectl call ${i} with cp-1's apiserver dead: ${r.stderr}`);
  }
  await labRequest({ dir }, 'start', 'cp-1', 'kube-apiserver');
});

test('killing the controller-manager leader moves leadership to another host within 30 s', async () => {
  const first = (
    await waitFor('a controller-manager leader', () => leaderOf(dir, 'controllerManager'), 30000)
  ).value;
  await labRequest({ dir }, 'kill', first, 'kube-controller-manager');
  const moved = await waitFor(
    'a new controller-manager leader',
    async () => {
      const l = await leaderOf(dir, 'controllerManager');
      return l && l !== first ? l : undefined;
    },
    30000,
    500,
  );
  process.stderr.write(
    `# controller-manager leadership moved ${first} -> ${moved.value} in ${moved.ms} ms\n`,
  );
  assert.notEqual(moved.value, first);
  await labRequest({ dir }, 'start', first, 'kube-controller-manager');
});

test('partitioning the etcd leader: new leader within 10 s, writes go on, no linearizable read on the isolated member, catch-up within 10 s after heal', async () => {
  const st = await labStatus({ dir });
  const addrs = etcdAddresses(st);
  const old = st.etcdLeader;
  assert.ok(old, 'an etcd leader before the partition');
  const isolated = addrs.get(old)!;
  const others = [...addrs].filter(([h]) => h !== old).map(([, a]) => a);
  await labRequest({ dir }, 'partition', old);
  let healed = false;
  try {
    const elected = await waitFor(
      'a new etcd leader among the others',
      async () => {
        for (const a of others) if ((await memberStatus(dir, a))?.leader) return a;
        return undefined;
      },
      10000,
    );
    process.stderr.write(`# etcd leader after partition of ${old}: ${elected.value} in ${elected.ms} ms\n`);
    let w = await kubectl(dir, ['create', 'configmap', 'during-partition', '--request-timeout=10s']);
    for (let i = 0; i < 3 && w.code !== 0; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      w = await kubectl(dir, ['create', 'configmap', 'during-partition', '--request-timeout=10s']);
    }
    assert.equal(w.code, 0, `write during the partition: ${w.stderr}`);
    const lin = await etcdctl(
      dir,
      [isolated],
      ['--command-timeout=3s', 'get', '/registry/configmaps/default/during-partition'],
    );
    assert.notEqual(lin.code, 0, 'the isolated member must not serve a linearizable read');
    assert.match(lin.stderr, /deadline exceeded|no leader|timed out/i);
    const ser = await etcdctl(
      dir,
      [isolated],
      ['get', '--consistency=s', '--keys-only', '--limit=1', '--prefix', '/registry/'],
    );
    assert.equal(ser.code, 0, 'a serializable read of its own (stale) data still works: ' + ser.stderr);
    assert.match(ser.stdout, /^\/registry\//);

    await labRequest({ dir }, 'heal', old);
    healed = true;
    const caught = await waitFor(
      'the healed member at the leader revision',
      async () => {
        const [a, b] = await Promise.all([memberStatus(dir, isolated), memberStatus(dir, elected.value)]);
        return a && b && a.revision === b.revision && a.revision > 0n ? a.revision : undefined;
      },
      10000,
    );
    process.stderr.write(`# healed member caught up to revision ${caught.value} in ${caught.ms} ms\n`);
    const after = await etcdctl(
      dir,
      [isolated],
      [
        '--command-timeout=5s',
        'get',
        '--print-value-only=false',
        '--keys-only',
        '/registry/configmaps/default/during-partition',
      ],
    );
    assert.equal(after.code, 0, after.stderr);
    assert.match(after.stdout, /during-partition/);
  } finally {
    if (!healed) await labRequest({ dir }, 'heal', old);
  }
});

test('stop and start of a host keeps its data; lab up on a running lab starts only what is missing', async () => {
  const c = await kubectl(dir, ['create', 'configmap', 'survives-stop', '--from-literal=k=v']);
  assert.equal(c.code, 0, c.stderr);
  await labRequest({ dir }, 'stop', 'cp-2');
  const st = await labStatus({ dir });
  assert.ok(st.components.filter((x) => x.host === 'cp-2').every((x) => x.state === 'stopped'));
  const during = await kubectl(dir, ['get', 'configmap', 'survives-stop', '-o', 'jsonpath={.data.k}']);
  assert.equal(during.stdout, 'v', during.stderr);
  await labRequest({ dir }, 'start', 'cp-2');
  const cp2 = etcdAddresses(await labStatus({ dir })).get('cp-2')!;
  const g = await etcdctl(
    dir,
    [cp2],
    ['get', '--consistency=s', '--keys-only', '/registry/configmaps/default/survives-stop'],
  );
  assert.match(g.stdout, /survives-stop/, 'the restarted member still has the key');

  await labRequest({ dir }, 'kill', 'worker-2');
  // Whatever is not running is "missing": besides the killed kwok, a controller-manager or scheduler that
  // lost its leader lease under load may be between its exit and the supervisor's restart.
  const missing = (await labStatus({ dir })).components
    .filter((x) => x.state !== 'running')
    .map((x) => `${x.host}/${x.component}`);
  const again = await upLab({ dir });
  assert.ok(again.started?.includes('worker-2/kwok'), `started: ${again.started?.join(', ')}`);
  for (const s of again.started ?? [])
    assert.ok(missing.includes(s), `${s} was running, yet lab up started it`);
});

test('a component that exits on its own is restarted by the supervisor (as kubelet restarts static pods)', async () => {
  const st = await labStatus({ dir });
  const victim = st.components.find(
    (x) => x.component === 'kube-scheduler' && x.state === 'running' && x.pid,
  );
  assert.ok(victim, 'a running kube-scheduler');
  process.kill(victim.pid!, 'SIGKILL'); // not through the lab: an unexpected crash
  const back = await waitFor(
    'the scheduler running again with a new pid',
    async () => {
      const now = (await labStatus({ dir })).components.find(
        (x) => x.host === victim.host && x.component === 'kube-scheduler',
      );
      return now?.state === 'running' && now.pid !== victim.pid ? now.pid : undefined;
    },
    30000,
  );
  process.stderr.write(`# kube-scheduler on ${victim.host} restarted in ${back.ms} ms\n`);
});

test('lab down leaves no process and no network namespace', async () => {
  const before = readState(dir)!;
  const ids = before.processes.flatMap((p) => (p.identity ? [p.identity] : []));
  assert.equal(ids.length, before.processes.filter((p) => p.state === 'running').length);
  assert.ok(ids.length >= 12, `${ids.length} recorded running processes`);
  const sup = before.supervisor!;
  await downLab({ dir });
  assert.ok(!stillRunning(sup), 'the supervisor is gone');
  const left = ids.filter(stillRunning);
  assert.deepEqual(
    left.map((p) => p.pid),
    [],
  );
  const ns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  const config = readConfig(dir)!;
  assert.ok(!ns.includes(`lifeboat-${config.id}-`), `namespaces left: ${ns}`);
  assert.ok(existsSync(join(dir, 'hosts', 'cp-1', 'etcd', 'member')), 'data is kept by lab down');
});

test('lab up on the stopped lab resumes on the kept PKI and data; SIGKILL of its supervisor leaves no process after 5 s', async () => {
  const caBefore = readFileSync(join(dir, 'pki', 'ca.crt'), 'utf8');
  const again = await upLab({ dir, ownerPid: process.pid });
  process.stderr.write(`# lab up (stacked, resumed on kept data): ${again.ms} ms\n`);
  assert.equal(again.created, false);
  assert.equal(readFileSync(join(dir, 'pki', 'ca.crt'), 'utf8'), caBefore, 'the CA is kept');
  const g = await kubectl(dir, ['get', 'configmap', 'survives-stop', '-o', 'jsonpath={.data.k}']);
  assert.equal(g.stdout, 'v', g.stderr);
  const { recorded, left } = await killSupervisorAndCollectSurvivors(dir);
  assert.equal(recorded, 15);
  assert.deepEqual(left, [], `still running 5 s after SIGKILL: ${left.join(', ')}`);
  const r = await downLab({ dir });
  assert.equal(r.forced, 0, 'nothing was left for lab down to kill');
  const ns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  assert.ok(!ns.includes(`lifeboat-${readConfig(dir)!.id}-`), `namespaces left: ${ns}`);
});
