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
    name: 'harness',
    summary: 'run a throwaway real etcd + kube-apiserver in the foreground (development and tests)',
    examples: ['lifeboat harness up', 'lifeboat harness up --etcd-members 3 --dir /tmp/h'],
    load: () => import('./commands/harness.js'),
  },
];
