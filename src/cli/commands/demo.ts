/** `lifeboat demo`: the narrated recovery demo (README command (a)). */
import type { Command } from 'commander';
import { runRecoveryDemo } from '../../demo/recovery.js';

export function define(cmd: Command): void {
  cmd
    .option(
      '--dir <dir>',
      'where the lab, the backup repository and the recovered YAML go (default: a new temp dir)',
    )
    .option('--keep', 'leave the lab running at the end')
    .action(async (o: { dir?: string; keep?: boolean }) => {
      await runRecoveryDemo({
        ...(o.dir ? { dir: o.dir } : {}),
        ...(o.keep ? { keep: true } : {}),
        say: (line) => process.stdout.write(`${line}\n`),
      });
    });
}
