/**
 * `backup schedule`: a long-running scheduler (croner, UTC) that creates a backup per cron slot, then
 * prunes. Several schedulers may share one repository (one per control-plane node): a write-once lease
 * object per cluster and slot (locks/<cluster>-<slot>.json) lets exactly one of them run each slot. A tick
 * that arrives while a run is active is skipped and counted. Prometheus metrics and /healthz are served
 * on --listen.
 *
 * Failure reasons (lifeboat_backup_failures_total{reason}), a fixed set:
 *   etcd          no member could be backed up (unreachable, TLS, auth, stalled)
 *   repository    the repository refused or could not be reached
 *   verification  the snapshot failed a check (trailer, meta pages, structure, hashKV)
 *   interrupted   SIGTERM/SIGINT or an abort
 *   restore_test  a scheduled restore test failed: the backup could not be read back, decrypted, restored
 *                 into a scratch etcd of its minor version, or the restored etcd differs from the manifest
 *   other         anything else
 *
 * Restore tests (optional, restoreTest): after each successful backup of this scheduler, or on their own
 * cron (a lease per restore-test slot, so one scheduler per slot), the newest backup of the cluster that
 * has no passing restore test is verified with `verify --restore-test` (verify.ts, restore-test.ts); the
 * outcome is a write-once verifications/<id>/<stamp>.json record. /healthz judges the newest *verified*
 * backup: with restore tests configured, one whose newest record passed a restore test; without, one
 * structure-checked at create or with a passing verification record.
 */
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import { Cron } from 'croner';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { lockKey } from '../stores/layout.js';
import type { Repository } from '../stores/repository.js';
import {
  ConnectionError,
  CorruptInputError,
  RefusedError,
  UsageError,
  VerificationError,
} from '../util/errors.js';
import { type CreateOptions } from './create.js';
import { pruneBackups } from './maintenance.js';
import { listBackups } from './read.js';
import { policyIsEmpty, type RetentionPolicy } from './retention.js';
import { createBackupWithSpoolCheck } from './spool.js';
import { isVerified, verificationStatus, verifiedBackupIds, verifyBackup } from './verify.js';

export const FAILURE_REASONS = [
  'etcd',
  'repository',
  'verification',
  'interrupted',
  'restore_test',
  'other',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

export function failureReason(err: unknown, repo: Repository): FailureReason {
  if (err instanceof Error && (err.name === 'AbortError' || err.name === 'InterruptedError'))
    return 'interrupted';
  if (err instanceof VerificationError || err instanceof CorruptInputError) return 'verification';
  if (err instanceof ConnectionError) return err.endpoint === repo.location ? 'repository' : 'etcd';
  if (err instanceof RefusedError) return 'repository';
  return 'other';
}

export interface ScheduleOptions {
  cron: string;
  create: Omit<CreateOptions, 'signal' | 'now'>;
  retention?: RetentionPolicy;
  /** host:port for /metrics and /healthz. */
  listen?: string;
  /** /healthz turns unhealthy when the newest backup of the cluster is older than this. */
  maxAgeMs?: number;
  log: (l: string) => void;
  /** Identifies this scheduler in lease objects. */
  holder?: string;
  /** Scheduled restore tests; undefined: none. */
  restoreTest?: ScheduledRestoreTest;
}

export interface ScheduledRestoreTest {
  /** age identities that decrypt the backups. */
  identities: string[];
  /** Own cron (UTC); undefined: after each successful backup of this scheduler. */
  cron?: string;
  spoolDir?: string;
  etcdBinDir?: string;
}

export class Scheduler {
  readonly registry = new Registry();
  private readonly lastSuccess: Gauge<'cluster' | 'repository'>;
  private readonly duration: Histogram<'cluster'>;
  private readonly size: Gauge<'cluster'>;
  private readonly failures: Counter<'cluster' | 'reason'>;
  private readonly backups: Gauge<'cluster'>;
  private readonly skipped: Counter<'cluster'>;
  private readonly slotsTaken: Counter<'cluster'>;
  private readonly lastVerified: Gauge<'cluster' | 'repository'>;
  private readonly restoreTests: Counter<'cluster' | 'result'>;
  private cron: Cron | undefined;
  private restoreCron: Cron | undefined;
  private restoring: Promise<void> | undefined;
  private server: Server | undefined;
  private running: Promise<void> | undefined;
  private abort: AbortController | undefined;
  private newestBackup: Date | undefined;
  private newestVerified: Date | undefined;
  private stopped = false;
  private refreshStarted = 0;
  private refreshApplied = 0;
  readonly holder: string;

  constructor(
    private readonly repo: Repository,
    private readonly opts: ScheduleOptions,
  ) {
    this.holder = opts.holder ?? `${hostname()}/${process.pid}`;
    const r = this.registry;
    this.lastSuccess = new Gauge({
      name: 'lifeboat_backup_last_success_timestamp_seconds',
      help: 'Creation time (Unix) of the newest backup of the cluster in the repository, by any writer',
      labelNames: ['cluster', 'repository'],
      registers: [r],
    });
    this.duration = new Histogram({
      name: 'lifeboat_backup_duration_seconds',
      help: 'Duration of backup runs (successful or not)',
      labelNames: ['cluster'],
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
      registers: [r],
    });
    this.size = new Gauge({
      name: 'lifeboat_backup_size_bytes',
      help: 'Stored size of the last successful backup',
      labelNames: ['cluster'],
      registers: [r],
    });
    this.failures = new Counter({
      name: 'lifeboat_backup_failures_total',
      help: `Failed backup runs by reason (${FAILURE_REASONS.join(', ')})`,
      labelNames: ['cluster', 'reason'],
      registers: [r],
    });
    this.backups = new Gauge({
      name: 'lifeboat_backups',
      help: 'Backups of the cluster in the repository',
      labelNames: ['cluster'],
      registers: [r],
    });
    this.skipped = new Counter({
      name: 'lifeboat_backup_skipped_ticks_total',
      help: 'Cron ticks skipped because a run was still active',
      labelNames: ['cluster'],
      registers: [r],
    });
    this.lastVerified = new Gauge({
      name: 'lifeboat_backup_last_verified_timestamp_seconds',
      help: 'Creation time (Unix) of the newest verified backup (restore-tested when restore tests run)',
      labelNames: ['cluster', 'repository'],
      registers: [r],
    });
    this.restoreTests = new Counter({
      name: 'lifeboat_backup_restore_tests_total',
      help: 'Scheduled restore tests by result (passed, failed)',
      labelNames: ['cluster', 'result'],
      registers: [r],
    });
    this.slotsTaken = new Counter({
      name: 'lifeboat_backup_slots_taken_by_others_total',
      help: 'Slots another scheduler on the same repository ran',
      labelNames: ['cluster'],
      registers: [r],
    });
  }

  private get cluster(): string {
    return this.opts.create.clusterName ?? '';
  }

  async start(): Promise<void> {
    if (!this.opts.create.clusterName) {
      throw new UsageError('backup schedule: --cluster is required (it names the lease objects and metrics)');
    }
    for (const reason of FAILURE_REASONS) this.failures.labels(this.cluster, reason).inc(0);
    this.skipped.labels(this.cluster).inc(0);
    await this.refreshCount().catch((err: Error) =>
      this.opts.log(`listing the repository failed: ${err.message}`),
    );
    if (this.opts.listen) await this.listen(this.opts.listen);
    this.cron = new Cron(this.opts.cron, { timezone: 'UTC' }, (self: Cron) => {
      const t = self.currentRun()?.getTime() ?? Date.now();
      this.tick(new Date(Math.round(t / 1000) * 1000));
    });
    this.opts.log(`scheduler ${this.holder}: next run ${this.cron.nextRun()?.toISOString() ?? 'never'}`);
    const rt = this.opts.restoreTest;
    if (rt) {
      for (const result of ['passed', 'failed']) this.restoreTests.labels(this.cluster, result).inc(0);
      if (rt.cron) {
        this.restoreCron = new Cron(rt.cron, { timezone: 'UTC' }, (self: Cron) => {
          const t = self.currentRun()?.getTime() ?? Date.now();
          this.restoreTick(new Date(Math.round(t / 1000) * 1000));
        });
        this.opts.log(`restore tests: next ${this.restoreCron.nextRun()?.toISOString() ?? 'never'}`);
      } else {
        this.opts.log('restore tests: after each successful backup');
      }
    }
  }

  private restoreTick(slot: Date): void {
    if (this.stopped) return;
    if (this.restoring) {
      this.opts.log(`restore-test tick ${slot.toISOString()} skipped: a restore test is still active`);
      return;
    }
    this.restoring = this.restoreSlot(slot).finally(() => {
      this.restoring = undefined;
    });
  }

  /** One restore-test slot: take its lease, restore-test the newest backup without a passing one. */
  async restoreSlot(slot: Date): Promise<void> {
    const lease = lockKey(`${this.cluster}-restore-test-${slotStamp(slot)}`);
    try {
      await this.repo.put(
        lease,
        Buffer.from(
          JSON.stringify({ slot: slot.toISOString(), holder: this.holder, taken: new Date().toISOString() }),
        ),
      );
    } catch (err) {
      if (err instanceof RefusedError) {
        this.opts.log(`restore-test slot ${slotStamp(slot)}: taken by another scheduler`);
        return;
      }
      this.failures.labels(this.cluster, 'repository').inc();
      this.opts.log(`restore-test slot ${slotStamp(slot)}: cannot take the lease: ${(err as Error).message}`);
      return;
    }
    try {
      const passed = await verifiedBackupIds(this.repo, { requireRestoreTest: true });
      const ms = (await listBackups(this.repo)).filter((m) => m.cluster.name === this.cluster);
      const newest = ms[ms.length - 1];
      if (!newest) {
        this.opts.log(`restore-test slot ${slotStamp(slot)}: no backup of ${this.cluster} yet`);
        return;
      }
      if (passed.has(newest.id)) {
        this.opts.log(
          `restore-test slot ${slotStamp(slot)}: newest backup ${newest.id} already restore-tested`,
        );
        return;
      }
      await this.restoreTestBackup(newest.id);
    } catch (err) {
      this.failures.labels(this.cluster, failureReason(err, this.repo)).inc();
      this.opts.log(`restore-test slot ${slotStamp(slot)}: ${(err as Error).message}`);
    } finally {
      await this.refreshCount().catch(() => undefined);
    }
  }

  /** verify --restore-test of one backup, recorded; a failure counts as reason restore_test. */
  async restoreTestBackup(id: string): Promise<boolean> {
    const rt = this.opts.restoreTest;
    if (!rt) return false;
    try {
      const { report } = await verifyBackup(this.repo, id, rt.identities, {
        restoreTest: true,
        record: true,
        ...(rt.spoolDir ? { spoolDir: rt.spoolDir } : {}),
        ...(rt.etcdBinDir ? { etcdBinDir: rt.etcdBinDir } : {}),
        log: this.opts.log,
      });
      this.restoreTests.labels(this.cluster, 'passed').inc();
      this.opts.log(
        `restore test of ${id} passed: revision ${report.revision}, ${report.liveKeys} keys, hashKV ${report.hashKV}`,
      );
      return true;
    } catch (err) {
      this.restoreTests.labels(this.cluster, 'failed').inc();
      this.failures.labels(this.cluster, 'restore_test').inc();
      this.opts.log(`restore test of ${id} failed (restore_test): ${(err as Error).message}`);
      return false;
    }
  }

  /** Address the HTTP server listens on (after start). */
  address(): string | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? `${a.address}:${a.port}` : undefined;
  }

  private listen(addr: string): Promise<void> {
    const i = addr.lastIndexOf(':');
    const host = i > 0 ? addr.slice(0, i) : '127.0.0.1';
    const port = Number(addr.slice(i + 1));
    if (!Number.isInteger(port)) throw new UsageError(`--listen: expected host:port, found '${addr}'`);
    this.server = createServer((req, res) => {
      void (async () => {
        if (req.url === '/metrics') {
          res.writeHead(200, { 'content-type': this.registry.contentType });
          res.end(await this.registry.metrics());
        } else if (req.url === '/healthz') {
          const h = this.health();
          res.writeHead(h.ok ? 200 : 503, { 'content-type': 'text/plain' });
          res.end(`${h.message}\n`);
        } else {
          res.writeHead(404).end('not found\n');
        }
      })();
    });
    return new Promise((resolve, reject) => {
      this.server!.once('error', (err) => reject(new UsageError(`--listen ${addr}: ${err.message}`)));
      this.server!.listen(port, host, () => resolve());
    });
  }

  health(now = Date.now()): { ok: boolean; message: string } {
    const what = this.opts.restoreTest ? 'restore-tested' : 'verified';
    if (!this.newestVerified) {
      return {
        ok: false,
        message: `no ${what} backup of cluster ${this.cluster} in ${this.repo.location}${this.newestBackup ? ` (newest unverified: ${this.newestBackup.toISOString()})` : ''}`,
      };
    }
    const age = now - this.newestVerified.getTime();
    const max = this.opts.maxAgeMs ?? Number.POSITIVE_INFINITY;
    if (age > max) {
      return {
        ok: false,
        message: `newest ${what} backup of ${this.cluster} is ${Math.round(age / 1000)} s old, more than --max-age ${Math.round(max / 1000)} s`,
      };
    }
    return { ok: true, message: `ok: newest ${what} backup ${this.newestVerified.toISOString()}` };
  }

  /**
   * Count, newest backup and newest verified backup of the cluster, from the repository. Refreshes may
   * overlap (a tick's and a finished run's): only the result of a later-started one replaces an earlier's.
   */
  private async refreshCount(): Promise<void> {
    const seq = ++this.refreshStarted;
    const ms = (await listBackups(this.repo)).filter((m) => m.cluster.name === this.cluster);
    const restoreTests = Boolean(this.opts.restoreTest);
    const status = await verificationStatus(this.repo);
    if (seq < this.refreshApplied) return;
    this.refreshApplied = seq;
    this.backups.labels(this.cluster).set(ms.length);
    const newest = ms[ms.length - 1];
    if (newest) {
      this.newestBackup = new Date(newest.created);
      this.lastSuccess.labels(this.cluster, this.repo.location).set(this.newestBackup.getTime() / 1000);
    }
    const verified = ms.filter((m) => isVerified(m, status, restoreTests));
    const nv = verified[verified.length - 1];
    this.newestVerified = nv ? new Date(nv.created) : undefined;
    if (nv)
      this.lastVerified.labels(this.cluster, this.repo.location).set(this.newestVerified!.getTime() / 1000);
  }

  private tick(slot: Date): void {
    if (this.stopped) return;
    // Several schedulers share a repository: the count and the newest backup come from the repository on
    // every tick, not only from this scheduler's own runs (a slot another scheduler took, a skipped tick).
    void this.refreshCount().catch((err: Error) =>
      this.opts.log(`listing the repository failed: ${err.message}`),
    );
    if (this.running) {
      this.skipped.labels(this.cluster).inc();
      this.opts.log(`tick ${slot.toISOString()} skipped: a run is still active`);
      return;
    }
    this.running = this.run(slot).finally(() => {
      this.running = undefined;
    });
  }

  /** One slot: take the lease, back up, prune, refresh counts. */
  async run(slot: Date): Promise<void> {
    const stamp = slotStamp(slot);
    const lease = lockKey(`${this.cluster}-${stamp}`);
    try {
      await this.repo.put(
        lease,
        Buffer.from(
          JSON.stringify({ slot: slot.toISOString(), holder: this.holder, taken: new Date().toISOString() }),
        ),
      );
    } catch (err) {
      if (err instanceof RefusedError) {
        this.slotsTaken.labels(this.cluster).inc();
        this.opts.log(`slot ${stamp}: taken by another scheduler`);
        return;
      }
      this.failures.labels(this.cluster, 'repository').inc();
      this.opts.log(`slot ${stamp}: cannot take the lease: ${(err as Error).message}`);
      return;
    }
    const started = Date.now();
    this.abort = new AbortController();
    try {
      const m = await createBackupWithSpoolCheck({ ...this.opts.create, signal: this.abort.signal });
      this.opts.log(`slot ${stamp}: backup ${m.id} (${m.artifacts[0]!.storedSize} bytes stored)`);
      this.size.labels(this.cluster).set(Number(m.artifacts[0]!.storedSize));
      this.newestBackup = new Date(m.created);
      // The creation time, as refreshCount reports it for every scheduler's backups.
      this.lastSuccess.labels(this.cluster, this.repo.location).set(this.newestBackup.getTime() / 1000);
      // Record the backup in the lease so several schedulers can be audited.
      await this.repo
        .put(
          `${lease.slice(0, -'.json'.length)}.done.json`,
          Buffer.from(JSON.stringify({ backup: m.id, holder: this.holder })),
        )
        .catch(() => undefined);
      if (this.opts.restoreTest && !this.opts.restoreTest.cron && !this.stopped) {
        await this.restoreTestBackup(m.id);
      }
      if (this.opts.retention && !policyIsEmpty(this.opts.retention)) {
        const res = await pruneBackups(this.repo, this.opts.retention, { cluster: this.cluster });
        if (res.removed.length) this.opts.log(`pruned ${res.removed.length}: ${res.removed.join(', ')}`);
      }
    } catch (err) {
      const reason = failureReason(err, this.repo);
      this.failures.labels(this.cluster, reason).inc();
      this.opts.log(`slot ${stamp}: backup failed (${reason}): ${(err as Error).message}`);
    } finally {
      this.duration.labels(this.cluster).observe((Date.now() - started) / 1000);
      this.abort = undefined;
      await this.refreshCount().catch(() => undefined);
    }
  }

  /** Stops the cron, aborts a running backup and waits for its cleanup (bounded by the caller). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cron?.stop();
    this.restoreCron?.stop();
    this.abort?.abort(Object.assign(new Error('interrupted by SIGTERM'), { name: 'AbortError' }));
    await this.running;
    await this.restoring;
    await new Promise<void>((r) => {
      if (!this.server) return r();
      this.server.close(() => r());
      this.server.closeAllConnections();
    });
  }
}

function slotStamp(slot: Date): string {
  return slot
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}
