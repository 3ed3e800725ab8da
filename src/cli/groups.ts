/**
 * The command groups `lifeboat --help` lists. Each group's module is imported only when that group is
 * invoked, so start-up stays fast however many commands Lifeboat grows.
 */
import type { Command } from 'commander';

export interface GroupModule {
  /** Adds the group's subcommands and options to `cmd`. */
  define(cmd: Command): void;
}

export interface CommandGroup {
  name: string;
  summary: string;
  examples: string[];
  load(): Promise<GroupModule>;
}

export const groups: CommandGroup[] = [
  {
    name: 'demo',
    summary: 'the recovery demo: lab up, seed, backup, accidental delete, diff, recover the YAML, lab down',
    examples: ['lifeboat demo', 'lifeboat demo --dir /tmp/demo --keep'],
    load: () => import('./commands/demo.js'),
  },
  {
    name: 'get',
    summary: 'Kubernetes objects from a backup file, the way kubectl shows them (decrypts, redacts Secrets)',
    examples: [
      'lifeboat get cm -n kube-system --from snap.db',
      'lifeboat get deploy web -o yaml --from snap.db',
      'lifeboat get deploy,cm -n shop --from snap.db',
      'lifeboat get cm/settings deploy/web -n shop -o yaml --from snap.db',
      'lifeboat get secrets -A --from snap.db --encryption-config enc.yaml',
    ],
    load: () => import('./commands/get.js'),
  },
  {
    name: 'dump',
    summary: 'every Kubernetes object in a backup file as JSON, one per line (decrypts, redacts Secrets)',
    examples: [
      'lifeboat dump --from snap.db > objects.ndjson',
      "lifeboat dump --from snap.db --prefix /registry/configmaps/ | jq -r '.metadata.name'",
    ],
    load: () => import('./commands/dump.js'),
  },
  {
    name: 'api-resources',
    summary:
      'every Kubernetes resource stored in a backup file, with object counts, stored versions and encodings',
    examples: ['lifeboat api-resources --from snap.db'],
    load: () => import('./commands/api-resources.js'),
  },
  {
    name: 'diff',
    summary: 'Kubernetes objects added, removed and changed between two backups or two revisions of one',
    examples: [
      'lifeboat diff --from monday.db --to tuesday.db configmaps -n prod',
      'lifeboat diff --from snap.db --from-rev 1200',
    ],
    load: () => import('./commands/diff.js'),
  },
  {
    name: 'history',
    summary: 'every retained revision of one Kubernetes object in a backup: who changed it and how',
    examples: ['lifeboat history deploy web -n prod --from snap.db'],
    load: () => import('./commands/history.js'),
  },
  {
    name: 'harness',
    summary: 'run a throwaway real etcd + kube-apiserver in the foreground (development and tests)',
    examples: ['lifeboat harness up', 'lifeboat harness up --etcd-members 3 --dir /tmp/h'],
    load: () => import('./commands/harness.js'),
  },
  {
    name: 'backup',
    summary: 'streaming, verified, encrypted etcd backups in a directory or S3 repository',
    examples: [
      'lifeboat backup keygen --out backup.key',
      'lifeboat backup create --endpoints https://10.0.0.1:2379 --cacert ca.crt --cert c.crt --key c.key --repo /srv/backups --encryption-identity backup.key',
      'lifeboat backup download 20260101T000000Z-0a1b2c3d --repo /srv/backups --encryption-identity backup.key --out snap.db',
    ],
    load: () => import('./commands/backup.js'),
  },
  {
    name: 'snapshot',
    summary: 'offline status and verification of etcd snapshots, member databases, data dirs, zip and gzip',
    examples: [
      'lifeboat snapshot status snap.db',
      'lifeboat snapshot status snap.zip -o json',
      'lifeboat snapshot verify /var/lib/etcd',
    ],
    load: () => import('./commands/snapshot.js'),
  },
  {
    name: 'kv',
    summary: "etcdctl get / key history over a snapshot file, at any retained revision, etcdctl's output",
    examples: [
      'lifeboat kv get /registry/pods --prefix --keys-only --from snap.db',
      'lifeboat kv get foo --rev 1234 -w json --from snap.db',
      'lifeboat kv history /registry/configmaps/default/x --from snap.db -w json',
    ],
    load: () => import('./commands/kv.js'),
  },
  {
    name: 'lab',
    summary: 'a real local HA control plane (etcd, apiservers, controllers, kwok nodes) to break on purpose',
    examples: [
      'lifeboat lab up --topology external',
      'lifeboat lab kill cp-1 kube-apiserver',
      'lifeboat lab partition etcd-2',
      'lifeboat lab down',
    ],
    load: () => import('./commands/lab.js'),
  },
];
