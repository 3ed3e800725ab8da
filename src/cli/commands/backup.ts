/** `lifeboat backup …`: thin wrappers over src/backup and src/stores. */
import { tmpdir } from 'node:os';
import { Option, type Command } from 'commander';
import { type CreateOptions, type CreateProgress } from '../../backup/create.js';
import { createBackupWithSpoolCheck } from '../../backup/spool.js';
import { parseCompression } from '../../backup/compression.js';
import {
  checkRecipient,
  keygen,
  readIdentityFile,
  readRecipientsFile,
  recipientsOfIdentities,
} from '../../backup/encryption.js';
import { deleteBackup, gcRepository, pruneBackups } from '../../backup/maintenance.js';
import type { BackupManifest } from '../../backup/manifest.js';
import { downloadBackup, listBackups, readManifest } from '../../backup/read.js';
import { parseKeepWithin, type RetentionPolicy } from '../../backup/retention.js';
import { verifyBackup } from '../../backup/verify.js';
import {
  addConnectionOptions,
  parseDuration,
  resolveConnection,
  type ConnectionFlagValues,
} from '../../etcd-client/flags.js';
import { assertBackupId } from '../../stores/layout.js';
import { openRepository } from '../../stores/open.js';
import type { Repository } from '../../stores/repository.js';
import { InterruptedError, UsageError } from '../../util/errors.js';
import { stringifyJson } from '../../util/json.js';
import { info } from '../../util/log.js';

const repoOption = () =>
  new Option('--repo <repo>', 'repository: a directory, file:///path or s3://bucket/prefix?endpoint=…').env(
    'LIFEBOAT_REPO',
  );
const identityOption = () =>
  new Option(
    '--encryption-identity <file>',
    'age identity file (from `lifeboat backup keygen` or age-keygen)',
  );
const outputOption = () =>
  new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text');

/** Opens an existing repository (readers never create one: a missing directory is exit 4). */
async function withRepo<T>(repo: string | undefined, fn: (r: Repository) => Promise<T>): Promise<T> {
  const r = await openRepository(repo, { create: false });
  try {
    return await fn(r);
  } finally {
    await r.close();
  }
}

function intOption(v: string, flag: string): number {
  if (!/^-?\d+$/.test(v) || Number(v) < -1)
    throw new UsageError(`${flag}: expected a whole number (or -1), found '${v}'`);
  return Number(v);
}

function progressPrinter(): ((p: CreateProgress) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (now - last < 200) return;
    last = now;
    const pct = p.total > 0n ? Math.min(100, Math.floor((p.bytes * 100) / Number(p.total))) : 0;
    process.stderr.write(`\r${p.member}: ${(p.bytes / 1048576).toFixed(1)} MiB (${pct}%)   `);
  };
}

function summary(m: BackupManifest): string {
  const a = m.artifacts[0]!;
  return [
    m.id,
    m.cluster.name,
    m.created,
    `${m.source.memberName}(${m.source.memberId})`,
    `${a.size}`,
    `${a.storedSize}`,
    a.compression,
    a.encryption.format,
  ].join('\t');
}

const RETENTION_RULES = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;

function addRetentionOptions(c: Command): Command {
  for (const r of RETENTION_RULES) {
    c.option(
      `--keep-${r} <n>`,
      `keep ${r === 'last' ? 'the n newest' : `the newest of the n most recent ${r} buckets`}`,
    );
  }
  return c.option(
    '--keep-within <duration>',
    'keep everything within this duration of the newest backup (e.g. 7d, 1y2m)',
  );
}

function retentionFrom(o: Record<string, unknown>): RetentionPolicy {
  const policy: RetentionPolicy = {};
  for (const r of RETENTION_RULES) {
    const flag = `keep${r[0]!.toUpperCase()}${r.slice(1)}`;
    if (o[flag] !== undefined) policy[r] = intOption(o[flag] as string, `--keep-${r}`);
  }
  if (o.keepWithin) policy.within = parseKeepWithin(o.keepWithin as string);
  return policy;
}

async function createOptionsFrom(
  o: ConnectionFlagValues & Record<string, unknown>,
  repo: Repository,
): Promise<Omit<CreateOptions, 'signal' | 'now'>> {
  const conn = resolveConnection(o);
  const recipients: string[] = (o.encryptionRecipient as string[]).map((r) =>
    checkRecipient(r, '--encryption-recipient'),
  );
  if (o.recipientsFile) recipients.push(...readRecipientsFile(o.recipientsFile as string));
  if (o.encryptionIdentity) {
    recipients.push(...(await recipientsOfIdentities(readIdentityFile(o.encryptionIdentity as string))));
  }
  return {
    conn,
    repo,
    recipients: [...new Set(recipients)],
    compression: parseCompression(o.compress as string),
    ...(o.compressLevel
      ? { compressionLevel: intOption(o.compressLevel as string, '--compress-level') }
      : {}),
    ...(o.cluster ? { clusterName: o.cluster as string } : {}),
    ...(o.member ? { member: o.member as string } : {}),
    discover: o.discover !== false,
    ...(o.spool !== false ? { spoolDir: o.spoolDir as string } : {}),
    stallTimeoutMs: parseDuration(o.stallTimeout as string, '--stall-timeout'),
    log: info,
  };
}

function addCreateOptions(c: Command): Command {
  return addConnectionOptions(c)
    .addOption(repoOption().makeOptionMandatory())
    .option('--cluster <name>', 'cluster name in the manifest (default: the etcd cluster id)')
    .addOption(identityOption())
    .option(
      '--encryption-recipient <age1…>',
      'encrypt to this age recipient (repeatable)',
      (v, acc: string[]) => [...acc, v],
      [],
    )
    .option('--recipients-file <file>', 'encrypt to the age recipients listed in this file')
    .option('--compress <kind>', 'zstd, gzip or none', 'zstd')
    .option('--compress-level <n>', 'compression level (zstd 1–19, gzip 1–9)')
    .option('--member <name|id|url>', 'back up from this member')
    .option('--no-discover', 'do not add the client URLs of MemberList to the candidates')
    .option(
      '--stall-timeout <duration>',
      'a stream without bytes for this long counts as a dead member',
      '30s',
    )
    .option(
      '--spool-dir <dir>',
      'spool a plain copy here for the structure check and content summary',
      tmpdir(),
    )
    .option('--no-spool', 'do not spool: the manifest says structureChecked: false');
}

export function define(cmd: Command): void {
  cmd.description('create, list, check, download and prune etcd backups in a repository');

  const create = cmd
    .command('create')
    .description('stream a verified, compressed, encrypted snapshot of a live etcd into a repository');
  addCreateOptions(create)
    .addOption(outputOption())
    .action(async (o: ConnectionFlagValues & Record<string, unknown>) => {
      const repo = await openRepository(o.repo as string);
      const manifest = await (async () => {
        try {
          return await createBackupWithSpoolCheck({
            ...(await createOptionsFrom(o, repo)),
            log: info,
            ...(create.optsWithGlobals().debug ? { debug: info } : {}),
            ...(progressPrinter() ? { onProgress: progressPrinter()! } : {}),
          });
        } finally {
          await repo.close();
        }
      })();
      if (process.stderr.isTTY) process.stderr.write('\n');
      info(`backup ${manifest.id} written: ${manifest.artifacts[0]!.storedSize} bytes stored`);
      process.stdout.write(o.output === 'json' ? `${stringifyJson(manifest)}\n` : `${manifest.id}\n`);
    });

  const schedule = cmd
    .command('schedule')
    .description('run backups (and pruning) on a cron schedule; serve /metrics and /healthz');
  addRetentionOptions(addCreateOptions(schedule))
    .requiredOption(
      '--cron <expr>',
      "cron expression in UTC (5 fields, or 6 with seconds), e.g. '0 */6 * * *'",
    )
    .option('--listen <host:port>', 'serve Prometheus /metrics and /healthz here')
    .option(
      '--max-age <duration>',
      '/healthz is unhealthy when the newest verified backup is older than this',
      '25h',
    )
    .option(
      '--restore-test',
      'restore-test each new backup right after it is written (needs --encryption-identity)',
    )
    .option(
      '--restore-test-cron <expr>',
      'restore-test the newest untested backup on this cron (UTC) instead (needs --encryption-identity)',
    )
    .option('--etcd-bin-dir <dir>', "etcd and etcdutl for restore tests (default: Lifeboat's binary cache)")
    .action(async (o: ConnectionFlagValues & Record<string, unknown>) => {
      const restoreTests = Boolean(o.restoreTest) || o.restoreTestCron !== undefined;
      if (restoreTests && !o.encryptionIdentity) {
        throw new UsageError(
          'backup schedule: --restore-test/--restore-test-cron need --encryption-identity to decrypt the backups',
        );
      }
      const repo = await openRepository(o.repo as string);
      const create = await createOptionsFrom(o, repo);
      if (!create.clusterName) throw new UsageError('backup schedule: --cluster is required');
      const restoreTest = restoreTests
        ? {
            identities: readIdentityFile(o.encryptionIdentity as string),
            ...(o.restoreTestCron ? { cron: o.restoreTestCron as string } : {}),
            ...(typeof o.spoolDir === 'string' && o.spool !== false ? { spoolDir: o.spoolDir } : {}),
            ...(o.etcdBinDir ? { etcdBinDir: o.etcdBinDir as string } : {}),
          }
        : undefined;
      // Loaded here: the scheduler's metrics library is not needed by the other backup commands' start-up.
      const { Scheduler } = await import('../../backup/schedule.js');
      const sched = new Scheduler(repo, {
        cron: o.cron as string,
        create,
        retention: retentionFrom(o),
        ...(o.listen ? { listen: o.listen as string } : {}),
        maxAgeMs: parseDuration(o.maxAge as string, '--max-age'),
        log: info,
        ...(restoreTest ? { restoreTest } : {}),
      });
      // This command owns the process: replace the CLI's immediate-exit signal handlers with a graceful
      // stop (abort the running backup, let it clean up, exit within 10 s).
      process.removeAllListeners('SIGTERM');
      process.removeAllListeners('SIGINT');
      const signal = await new Promise<NodeJS.Signals>((resolve, reject) => {
        process.once('SIGTERM', () => resolve('SIGTERM'));
        process.once('SIGINT', () => resolve('SIGINT'));
        sched.start().catch(reject);
      }).catch(async (err: unknown) => {
        await repo.close();
        throw err;
      });
      info(`${signal}: stopping the scheduler`);
      await Promise.race([sched.stop(), new Promise((r) => setTimeout(r, 9000))]);
      await repo.close();
      throw new InterruptedError(signal);
    });

  cmd
    .command('list')
    .description('list the backups in a repository (oldest first)')
    .addOption(repoOption().makeOptionMandatory())
    .option('--cluster <name>', 'only this cluster')
    .addOption(outputOption())
    .action(async (o: { repo: string; cluster?: string; output: string }) => {
      const all = await withRepo(o.repo, (r) =>
        listBackups(r, (k, e) => info(`warning: skipping ${k}: ${(e as Error).message}`)),
      );
      const ms = all.filter((m) => !o.cluster || m.cluster.name === o.cluster);
      if (o.output === 'json') process.stdout.write(`${stringifyJson(ms)}\n`);
      else {
        process.stdout.write('ID\tCLUSTER\tCREATED\tMEMBER\tSIZE\tSTORED\tCOMPRESSION\tENCRYPTION\n');
        for (const m of ms) process.stdout.write(`${summary(m)}\n`);
      }
    });

  cmd
    .command('show <id>')
    .description("print a backup's manifest")
    .addOption(repoOption().makeOptionMandatory())
    .action(async (id: string, o: { repo: string }) => {
      assertBackupId(id);
      const m = await withRepo(o.repo, (r) => readManifest(r, id));
      process.stdout.write(`${stringifyJson(m)}\n`);
    });

  cmd
    .command('download <id>')
    .description('write the plain etcd snapshot of a backup (for etcdutl snapshot restore)')
    .addOption(repoOption().makeOptionMandatory())
    .addOption(identityOption())
    .requiredOption('--out <file>', 'output file (mode 0600; never overwritten without --force)')
    .option('--force', 'replace an existing output file')
    .action(
      async (id: string, o: { repo: string; encryptionIdentity?: string; out: string; force?: boolean }) => {
        assertBackupId(id);
        const ids = o.encryptionIdentity ? readIdentityFile(o.encryptionIdentity) : [];
        const { facts } = await withRepo(o.repo, (r) =>
          downloadBackup(r, id, ids, o.out, { force: o.force ?? false }),
        );
        info(`wrote ${o.out}: ${facts.size} bytes, sha256 trailer ok, meta pages ok`);
        process.stdout.write(`${o.out}\n`);
      },
    );

  cmd
    .command('verify <id>')
    .description('re-check stored bytes, the sha256 trailer, meta pages and the bbolt structure of a backup')
    .addOption(repoOption().makeOptionMandatory())
    .addOption(identityOption())
    .option('--spool-dir <dir>', 'where to spool the decrypted snapshot (default: the temp directory)')
    .option('--restore-test', "restore into a scratch real etcd of the backup's minor version and compare")
    .option('--etcd-bin-dir <dir>', "etcd and etcdutl for --restore-test (default: Lifeboat's binary cache)")
    .option('--no-record', 'do not write a verifications/<id>/<time>.json record into the repository')
    .addOption(outputOption())
    .action(
      async (
        id: string,
        o: {
          repo: string;
          encryptionIdentity?: string;
          spoolDir?: string;
          output: string;
          restoreTest?: boolean;
          etcdBinDir?: string;
          record?: boolean;
        },
      ) => {
        assertBackupId(id);
        const ids = o.encryptionIdentity ? readIdentityFile(o.encryptionIdentity) : [];
        const { report } = await withRepo(o.repo, (r) =>
          verifyBackup(r, id, ids, {
            ...(o.spoolDir ? { spoolDir: o.spoolDir } : {}),
            ...(o.etcdBinDir ? { etcdBinDir: o.etcdBinDir } : {}),
            restoreTest: Boolean(o.restoreTest),
            record: o.record !== false,
            log: info,
          }),
        );
        if (o.output === 'json') process.stdout.write(`${stringifyJson(report)}\n`);
        else {
          process.stdout.write(
            `backup ${id}: ok (stored bytes, sha256 trailer, meta pages, bbolt structure${o.restoreTest ? ', restore test' : ''})\n`,
          );
          if (report.filledIn.length) {
            // The manifest (structureChecked: false) lacks these; manifests are write-once, so they go to
            // the verification record instead.
            process.stdout.write(
              `computed what the manifest lacks: revision ${report.revision}, compactRevision ${report.compactRevision}, liveKeys ${report.liveKeys}, hashKV ${report.hashKV}, contents ${
                Object.entries(report.objectsPerResource)
                  .map(([k, n]) => `${k}=${n}`)
                  .join(' ') || '(no keys)'
              }\n`,
            );
          }
          if (report.record) process.stdout.write(`recorded in ${report.record}\n`);
        }
      },
    );

  cmd
    .command('delete <id>')
    .description('remove a backup (manifest first, then data)')
    .addOption(repoOption().makeOptionMandatory())
    .action(async (id: string, o: { repo: string }) => {
      assertBackupId(id);
      await withRepo(o.repo, (r) => deleteBackup(r, id));
      info(`deleted backup ${id}`);
    });

  const prune = cmd
    .command('prune')
    .description("remove backups outside the retention policy (restic's semantics, per cluster, UTC)")
    .addOption(repoOption().makeOptionMandatory())
    .option('--cluster <name>', 'only this cluster')
    .option('--dry-run', 'list what would be removed');
  addRetentionOptions(prune)
    .addOption(outputOption())
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const policy = retentionFrom(o);
      const res = await withRepo(o.repo as string, (r) =>
        pruneBackups(r, policy, {
          dryRun: Boolean(o.dryRun),
          ...(o.cluster ? { cluster: o.cluster as string } : {}),
          log: info,
        }),
      );
      if (o.output === 'json') {
        const doc = res.decisions.map((d) => ({
          id: d.item.id,
          cluster: d.item.cluster,
          keep: d.keep,
          reasons: d.reasons,
        }));
        process.stdout.write(`${stringifyJson(doc)}\n`);
      } else {
        for (const d of res.decisions) {
          process.stdout.write(
            `${d.keep ? 'keep' : o.dryRun ? 'would remove' : 'removed'}\t${d.item.id}\t${d.item.cluster}\t${d.reasons.join(', ')}\n`,
          );
        }
      }
    });

  cmd
    .command('gc')
    .description('remove data objects without a manifest once they are older than --grace')
    .addOption(repoOption().makeOptionMandatory())
    .option('--grace <duration>', 'minimum age of orphaned data before removal', '24h')
    .option('--dry-run', 'list what would be removed')
    .action(async (o: { repo: string; grace: string; dryRun?: boolean }) => {
      const res = await withRepo(o.repo, (r) =>
        gcRepository(r, parseDuration(o.grace, '--grace'), { dryRun: Boolean(o.dryRun) }),
      );
      for (const id of res.removed) process.stdout.write(`${o.dryRun ? 'would remove' : 'removed'}\t${id}\n`);
      for (const id of res.kept) process.stdout.write(`within grace\t${id}\n`);
    });

  cmd
    .command('keygen')
    .description('write a new age identity (0600) and print its recipient')
    .requiredOption('--out <file>', 'identity file to create (never overwritten)')
    .action(async (o: { out: string }) => {
      const recipient = await keygen(o.out);
      info(`wrote identity ${o.out}`);
      process.stdout.write(`${recipient}\n`);
    });
}
