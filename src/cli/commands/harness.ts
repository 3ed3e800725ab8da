/** `lifeboat harness up`: a throwaway real etcd + kube-apiserver in the foreground, until Ctrl-C. */
import type { Command } from 'commander';
import { Harness } from '../../lab/harness.js';
import { UsageError } from '../../util/errors.js';

export function define(cmd: Command): void {
  cmd
    .command('up')
    .description(
      'start a real etcd cluster and kube-apiserver, print how to reach them, run until interrupted',
    )
    .option('--etcd-members <n>', 'etcd cluster size: 1, 3 or 5', '1')
    .option('--etcd-version <minor>', 'etcd minor version: 3.4, 3.5 or 3.6', '3.6')
    .option('--no-apiserver', 'start etcd only')
    .option('--insecure', 'plain HTTP between etcd members and clients (no TLS)')
    .option('--dir <dir>', 'state directory (default: a temporary directory removed on exit)')
    .action(
      async (o: {
        etcdMembers: string;
        etcdVersion: string;
        apiserver: boolean;
        insecure?: boolean;
        dir?: string;
      }) => {
        const members = Number(o.etcdMembers);
        if (members !== 1 && members !== 3 && members !== 5) {
          throw new UsageError(`--etcd-members: expected 1, 3 or 5, got '${o.etcdMembers}'`);
        }
        if (!['3.4', '3.5', '3.6'].includes(o.etcdVersion)) {
          throw new UsageError(`--etcd-version: expected 3.4, 3.5 or 3.6, got '${o.etcdVersion}'`);
        }
        const started = Date.now();
        process.stderr.write(
          `starting ${members}-member etcd ${o.etcdVersion}${o.apiserver ? ' and kube-apiserver' : ''}...\n`,
        );
        const h = await Harness.start({
          etcdMembers: members,
          etcdMinor: o.etcdVersion as '3.4' | '3.5' | '3.6',
          tls: !o.insecure,
          apiserver: o.apiserver,
          ...(o.dir ? { dir: o.dir } : {}),
        });
        const lines = [
          `ready in ${((Date.now() - started) / 1000).toFixed(1)} s (state in ${h.dir})`,
          `etcd endpoints: ${h.etcd.endpoints.join(',')}`,
        ];
        if (h.etcd.clientTls) {
          const t = h.etcd.clientTls;
          lines.push(
            `etcdctl:        ${h.etcd.binaries.etcdctl} --endpoints=${h.etcd.endpoints.join(',')} --cacert=${t.ca} --cert=${t.cert} --key=${t.key} member list`,
          );
        }
        if (h.apiserver) {
          lines.push(
            `kube-apiserver: ${h.apiserver.url} (${h.apiserver.binaries.version})`,
            `kubeconfig:     ${h.apiserver.kubeconfig}`,
            `try:            kubectl --kubeconfig ${h.apiserver.kubeconfig} get ns`,
            `                (kubectl ${h.apiserver.binaries.version} is at ${h.apiserver.binaries.kubectl})`,
          );
        }
        lines.push('press Ctrl-C to stop and remove everything');
        process.stdout.write(lines.join('\n') + '\n');
        // Runs until Ctrl-C or SIGTERM: the CLI's signal handler runs the registered cleanups, which kill
        // and reap every child and remove the temporary state directory.
        await new Promise<never>(() => setInterval(() => undefined, 1 << 30));
      },
    );
}
