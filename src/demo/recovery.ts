/**
 * The recovery demo (seed 004's story), narrated: a real HA lab comes up and gets a workload, Lifeboat backs
 * it up, a ConfigMap and a Deployment are "accidentally" deleted, Lifeboat shows what is gone by diffing the
 * backup against a fresh one and recovers both objects' YAML from the backup — without rolling the cluster
 * back and without booting a throwaway etcd. Every step runs the same `lifeboat` / `kubectl` command an
 * operator would type, printed before it runs, and is timed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubernetesBinaries } from '../lab/binaries.js';
import { labStatus } from '../lab/lab.js';
import { onCleanup } from '../util/cleanup.js';
import { LifeboatError } from '../util/errors.js';
import { packageRoot } from '../util/version.js';

export interface DemoOptions {
  /** Where the lab, the repository and the recovered files go (default: a new temp dir). */
  dir?: string;
  /** Keep the lab running at the end (the operator can look around; `lifeboat lab down --dir …` ends it). */
  keep?: boolean;
  /** Narration sink (stdout in the CLI). */
  say: (line: string) => void;
}

export interface DemoResult {
  dir: string;
  steps: Array<{ title: string; ms: number }>;
  recovered: string;
}

class DemoStepError extends LifeboatError {}

interface Ran {
  stdout: string;
  stderr: string;
}

export async function runRecoveryDemo(o: DemoOptions): Promise<DemoResult> {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'lifeboat-demo-'));
  await fs.mkdir(dir, { recursive: true });
  const lab = join(dir, 'lab');
  const repo = join(dir, 'repo');
  const key = join(dir, 'backup.key');
  const kubectlBin = kubernetesBinaries().kubectl;
  const lifeboat = join(packageRoot(), 'bin', 'lifeboat');
  const steps: DemoResult['steps'] = [];
  const total = 9;
  let n = 0;

  const short = (p: string) => p.replaceAll(dir, '$DEMO');
  const show = (text: string, max = 40) => {
    const lines = text
      .trimEnd()
      .split('\n')
      .filter((l) => l.length);
    for (const l of lines.slice(0, max)) o.say(`      ${l}`);
    if (lines.length > max) o.say(`      … (${lines.length - max} more lines)`);
  };
  const run = (cmd: string, args: string[], display: string): Promise<Ran> =>
    new Promise((resolve, reject) => {
      o.say(`    $ ${short(display)}`);
      const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      child.on('error', reject);
      child.on('close', (code) => {
        if (code === 0) resolve({ stdout, stderr });
        else
          reject(
            new DemoStepError(
              `'${short(display)}' failed with exit ${code}: ${stderr.trim().split('\n').slice(-1)[0] ?? ''}`,
            ),
          );
      });
    });
  const lb = (args: string[]) => run(lifeboat, args, `lifeboat ${args.join(' ')}`);
  const kubectl = (args: string[]) =>
    run(kubectlBin, ['--kubeconfig', join(lab, 'kubeconfig'), ...args], `kubectl ${args.join(' ')}`);
  const step = async <T>(title: string, body: () => Promise<T>): Promise<T> => {
    n++;
    o.say(`\n[${n}/${total}] ${title}`);
    const t0 = Date.now();
    const r = await body();
    const ms = Date.now() - t0;
    steps.push({ title, ms });
    o.say(`    ✓ ${(ms / 1000).toFixed(1)} s`);
    return r;
  };

  o.say(`Lifeboat recovery demo — everything lives in ${dir} ($DEMO below)`);
  let labUp = false;
  const down = () => {
    if (labUp && !o.keep) {
      spawnSync(lifeboat, ['lab', 'down', '--dir', lab], { stdio: 'ignore' });
      labUp = false;
    }
  };
  const unregister = onCleanup(down);
  try {
    await step(
      'Bring up a real HA control plane: 3 stacked etcd + control-plane hosts, 3 kwok worker nodes',
      async () => {
        labUp = true;
        const r = await lb(['lab', 'up', '--dir', lab]);
        show(r.stdout + r.stderr, 8);
      },
    );
    await step(
      'Give it something to lose: namespaces, Deployments, Services, ConfigMaps, Secrets, a CRD, RBAC',
      async () => {
        show((await lb(['lab', 'seed', '--dir', lab])).stdout, 12);
        show((await kubectl(['get', 'deploy,cm', '-n', 'shop'])).stdout);
      },
    );
    const pki = join(lab, 'pki');
    const etcd = [
      '--endpoints',
      await labEtcdEndpoints(lab),
      '--cacert',
      join(pki, 'ca.crt'),
      '--cert',
      join(pki, 'etcd-client.crt'),
      '--key',
      join(pki, 'etcd-client.key'),
    ];
    const backupId = await step('Take an encrypted, verified backup into a file repository', async () => {
      show((await lb(['backup', 'keygen', '--out', key])).stdout);
      const r = await lb(['backup', 'create', ...etcd, '--repo', repo, '--encryption-identity', key]);
      const id = r.stdout.trim().split('\n').slice(-1)[0]!;
      show(r.stdout);
      return id;
    });
    await step(
      'The accident: the ConfigMap shop/app-config and the Deployment shop/web are deleted',
      async () => {
        show((await kubectl(['-n', 'shop', 'delete', 'configmap', 'app-config'])).stdout);
        show((await kubectl(['-n', 'shop', 'delete', 'deployment', 'web'])).stdout);
      },
    );
    const afterId = await step('Take a second backup, of the cluster as it is now', async () => {
      const r = await lb(['backup', 'create', ...etcd, '--repo', repo, '--encryption-identity', key]);
      show(r.stdout);
      return r.stdout.trim().split('\n').slice(-1)[0]!;
    });
    const before = join(dir, 'before.db');
    const after = join(dir, 'after.db');
    await step(
      'Download both backups as plain etcd snapshots (decrypted, decompressed, checked)',
      async () => {
        await lb([
          'backup',
          'download',
          backupId,
          '--repo',
          repo,
          '--encryption-identity',
          key,
          '--out',
          before,
        ]);
        await lb([
          'backup',
          'download',
          afterId,
          '--repo',
          repo,
          '--encryption-identity',
          key,
          '--out',
          after,
        ]);
        show((await lb(['snapshot', 'status', before])).stdout, 20);
      },
    );
    await step('What is gone? Diff the last good backup against now (shop namespace)', async () => {
      show((await lb(['diff', '--from', before, '--to', after, '-n', 'shop'])).stdout, 30);
    });
    const recovered = join(dir, 'recovered.yaml');
    await step('Recover both objects exactly as they were, from the backup file alone', async () => {
      const cm = await lb(['get', 'configmap', 'app-config', '-n', 'shop', '-o', 'yaml', '--from', before]);
      const dep = await lb(['get', 'deployment', 'web', '-n', 'shop', '-o', 'yaml', '--from', before]);
      await fs.writeFile(recovered, `${cm.stdout.trimEnd()}\n---\n${dep.stdout.trimEnd()}\n`, {
        mode: 0o600,
      });
      show(cm.stdout, 60);
      o.say('      ---');
      show(dep.stdout, 25);
      o.say(`    recovered YAML written to ${recovered}`);
      o.say(`    put them back with: kubectl --kubeconfig ${lab}/kubeconfig apply -f ${recovered}`);
      o.say('    (applying into the live cluster from Lifeboat itself comes with object restore)');
    });
    await step(
      o.keep ? 'Leave the lab running (--keep)' : 'Take the lab down: nothing left running',
      async () => {
        if (o.keep) {
          o.say(`    kubectl --kubeconfig ${lab}/kubeconfig get ns   # the lab is yours`);
          o.say(`    lifeboat lab down --dir ${lab}   # when you are done`);
        } else show((await lb(['lab', 'down', '--dir', lab])).stdout);
        labUp = o.keep === true;
      },
    );
    const sum = steps.reduce((a, s) => a + s.ms, 0);
    o.say(`\nDone in ${(sum / 1000).toFixed(1)} s. Recovered objects: ${recovered}`);
    return { dir, steps, recovered };
  } finally {
    down();
    unregister();
  }
}

/** The lab's etcd client URLs, from the lab's own status (the library call behind `lab status`). */
async function labEtcdEndpoints(labDir: string): Promise<string> {
  const status = await labStatus({ dir: labDir });
  const eps = status.components.filter((c) => c.component === 'etcd').map((c) => `https://${c.address}`);
  if (!eps.length) throw new DemoStepError('the lab reports no etcd member');
  return eps.join(',');
}
