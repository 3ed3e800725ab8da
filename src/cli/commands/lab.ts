/** `lifeboat lab …`: a real local HA control plane to break on purpose. Thin over src/lab/lab.ts. */
import type { Command } from 'commander';
import { downLab, labLogs, labRequest, labStatus, listLabs, upLab } from '../../lab/lab.js';
import { seedLab } from '../../lab/seed.js';
import { versionPins } from '../../lab/binaries.js';
import { UsageError } from '../../util/errors.js';
import { stringifyJson } from '../../util/json.js';
import type { NetworkMode } from '../../lab/topology.js';

interface Which {
  name?: string;
  dir?: string;
}

function which(c: Command): Command {
  return c
    .option('--name <name>', 'lab name (state in ~/.local/share/lifeboat/labs/NAME)', 'default')
    .option('--dir <dir>', 'lab directory (instead of --name)');
}

function count(flag: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v)) throw new UsageError(`${flag}: expected a whole number, got '${v}'`);
    return Number(v);
  };
}

function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function define(cmd: Command): void {
  which(
    cmd
      .command('up')
      .description('start a lab (or start what is missing in an existing one, keeping its PKI and data)')
      .option(
        '--topology <t>',
        'stacked (etcd on the control-plane hosts) or external (etcd hosts of their own)',
      )
      .option(
        '--etcd <n>',
        'etcd members: 1, 3 or 5 (external; stacked has one per control plane)',
        count('--etcd'),
      )
      .option(
        '--control-planes <n>',
        'control-plane hosts (default: 3 stacked, 2 external)',
        count('--control-planes'),
      )
      .option('--nodes <n>', 'kwok worker nodes (default 3)', count('--nodes'))
      .option('--network <mode>', 'netns (default as root: a namespace per host on a bridge) or loopback')
      .option('--insecure', 'plain HTTP between etcd and its clients (the apiservers always serve TLS)')
      .option('--etcd-version <minor>', 'etcd 3.5 or 3.6', '3.6')
      .option('--k8s-version <v>', 'Kubernetes version (only the pinned one is installed)')
      .option('--json', 'print the result as JSON'),
  ).action(
    async (
      o: Which & {
        topology?: string;
        etcd?: number;
        controlPlanes?: number;
        nodes?: number;
        network?: string;
        insecure?: boolean;
        etcdVersion: string;
        k8sVersion?: string;
        json?: boolean;
      },
    ) => {
      const pinned = versionPins().KUBERNETES_VERSION!;
      if (o.k8sVersion !== undefined && o.k8sVersion.replace(/^v?/, 'v') !== pinned) {
        throw new UsageError(
          `--k8s-version: only ${pinned} is installed (pinned in tools/versions.env), got '${o.k8sVersion}'`,
        );
      }
      if (o.network !== undefined && o.network !== 'netns' && o.network !== 'loopback') {
        throw new UsageError(`--network: expected netns or loopback, got '${o.network}'`);
      }
      if (o.etcdVersion !== '3.5' && o.etcdVersion !== '3.6') {
        throw new UsageError(`--etcd-version: expected 3.5 or 3.6, got '${o.etcdVersion}'`);
      }
      const { network, k8sVersion: _k, ...rest } = o;
      const r = await upLab({
        ...rest,
        ...(network ? { network: network as NetworkMode } : {}),
        etcdMinor: o.etcdVersion,
        progress: (l) => void process.stderr.write(`${l}\n`),
      });
      if (o.json) return out(stringifyJson(r));
      out(
        [
          `lab ${r.name} ${r.started ? `running; started ${r.started.length} missing processes` : 'ready'} in ${(r.ms / 1000).toFixed(1)} s`,
          `apiserver (load balancer): ${r.balancer}`,
          `kubeconfig: ${r.kubeconfig}`,
          `try: kubectl --kubeconfig ${r.kubeconfig} get nodes`,
        ].join('\n'),
      );
    },
  );

  which(cmd.command('status').description('every process of the lab: host, role, address, health, leader'))
    .option('--json', 'print the status as JSON')
    .action(async (o: Which & { json?: boolean }) => {
      const s = await labStatus(o);
      if (o.json) return out(stringifyJson(s));
      const rows = [['HOST', 'COMPONENT', 'ADDRESS', 'STATE', 'PID', 'HEALTH', 'LEADER']];
      for (const c of s.components) {
        rows.push([
          c.host,
          c.component,
          c.address,
          c.state,
          c.pid ? String(c.pid) : '-',
          c.state === 'running' ? (c.healthy ? 'healthy' : 'unhealthy') : '-',
          c.leader ? 'leader' : '',
        ]);
      }
      const ready = Object.entries(s.backends).map(([k, v]) => `${k}${v ? '' : ' (not ready)'}`);
      out(
        [
          `lab ${s.name} (${s.topology}, network ${s.network}) in ${s.dir}`,
          `load balancer ${s.balancer} → ${ready.join(', ')}`,
          ...(s.partitioned.length ? [`partitioned: ${s.partitioned.join(', ')}`] : []),
          '',
          table(rows),
        ].join('\n'),
      );
    });

  which(
    cmd.command('down').description('stop every process of the lab (data and PKI are kept unless --purge)'),
  )
    .option('--purge', 'also delete the lab directory')
    .action(async (o: Which & { purge?: boolean }) => {
      const r = await downLab(o);
      out(
        `lab in ${r.dir} is down${r.forced ? ` (${r.forced} processes had to be killed by pid)` : ''}${r.purged ? '; directory deleted' : ''}`,
      );
    });

  which(cmd.command('list').description('labs on this machine and whether they run'))
    .option('--json', 'print as JSON')
    .action((o: { json?: boolean }) => {
      const labs = listLabs();
      if (o.json) return out(stringifyJson(labs));
      if (!labs.length) return out('no labs');
      out(
        table([
          ['NAME', 'STATE', 'SHAPE', 'DIR'],
          ...labs.map((l) => [
            l.name,
            l.running ? `running (pid ${l.supervisorPid})` : 'down',
            l.shape,
            l.dir,
          ]),
        ]),
      );
    });

  which(
    cmd
      .command('logs')
      .argument('<host>', 'host (cp-1, etcd-2, worker-1) or "supervisor"')
      .argument('[component]'),
  )
    .description('the last lines of the logs of a host')
    .option('-n, --lines <n>', 'lines per log', count('--lines'), 50)
    .action((host: string, component: string | undefined, o: Which & { lines: number }) => {
      for (const l of labLogs(o, host, component, o.lines)) out(`==> ${l.file} <==\n${l.text}`);
    });

  const inject: Array<[string, string]> = [
    ['kill', 'SIGKILL every process of a host (or one component); data kept'],
    ['stop', 'stop a host (or one component) gracefully; data kept'],
    ['start', 'start a stopped or killed host (a wiped etcd member is refused)'],
    ['wipe', 'kill a host and delete its etcd data directory, like a dead disk'],
  ];
  for (const [op, summary] of inject) {
    which(cmd.command(op).argument('<host>').argument('[component]').description(summary)).action(
      async (host: string, component: string | undefined, o: Which) => {
        const r = await labRequest<Record<string, unknown>>(o, op as 'kill', host, component);
        out(stringifyJson(r));
      },
    );
  }
  for (const op of ['partition', 'heal'] as const) {
    which(
      cmd
        .command(op)
        .argument('<host>')
        .description(
          op === 'partition'
            ? "drop the host's traffic to and from every other host, both ways (netns labs)"
            : 'undo a partition',
        ),
    ).action(async (host: string, o: Which) => {
      out(stringifyJson(await labRequest(o, op, host)));
    });
  }

  which(cmd.command('seed').description('create a realistic workload through the API (idempotent)'))
    .option('--json', 'print what was created as JSON')
    .action(async (o: Which & { json?: boolean }) => {
      const r = await seedLab(o);
      if (o.json) return out(stringifyJson(r));
      out(
        `seeded ${r.objects.length} objects in ${(r.ms / 1000).toFixed(1)} s; ${r.runningPods}/${r.expectedPods} pods Running`,
      );
    });
}
