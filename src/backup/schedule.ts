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
 *   other         anything else
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
import { createBackup, type CreateOptions } from './create.js';
import { pruneBackups } from './maintenance.js';
import { listBackups } from './read.js';
import { policyIsEmpty, type RetentionPolicy } from './retention.js';

export const FAILURE_REASONS = ['etcd', 'repository', 'verification', 'interrupted', 'other'] as const;
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
  private cron: Cron | undefined;
  private server: Server | undefined;
  private running: Promise<void> | undefined;
  private abort: AbortController | undefined;
  private newestBackup: Date | undefined;
  private stopped = false;
  readonly holder: string;

  constructor(
    private readonly repo: Repository,
    private readonly opts: ScheduleOptions,
  ) {
    this.holder = opts.holder ?? `${hostname()}/${process.pid}`;
    const r = this.registry;
    this.lastSuccess = new Gauge({
      name: 'lifeboat_backup_last_success_timestamp_seconds',
      help: 'Unix time of the last successful backup',
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
    if (!this.newestBackup)
      return { ok: false, message: `no backup of cluster ${this.cluster} in ${this.repo.location}` };
    const age = now - this.newestBackup.getTime();
    const max = this.opts.maxAgeMs ?? Number.POSITIVE_INFINITY;
    if (age > max) {
      return {
        ok: false,
        message: `newest backup of ${this.cluster} is ${Math.round(age / 1000)} s old, more than --max-age ${Math.round(max / 1000)} s`,
      };
    }
    return { ok: true, message: `ok: newest backup ${this.newestBackup.toISOString()}` };
  }

  private async refreshCount(): Promise<void> {
    const ms = (await listBackups(this.repo)).filter((m) => m.cluster.name === this.cluster);
    this.backups.labels(this.cluster).set(ms.length);
    const newest = ms[ms.length - 1];
    if (newest) {
      this.newestBackup = new Date(newest.created);
      this.lastSuccess.labels(this.cluster, this.repo.location).set(this.newestBackup.getTime() / 1000);
    }
  }

  private tick(slot: Date): void {
    if (this.stopped) return;
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
    const stamp = slot
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}Z$/, 'Z');
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
      const m = await createBackup({ ...this.opts.create, signal: this.abort.signal });
      this.opts.log(`slot ${stamp}: backup ${m.id} (${m.artifacts[0]!.storedSize} bytes stored)`);
      this.size.labels(this.cluster).set(Number(m.artifacts[0]!.storedSize));
      this.lastSuccess.labels(this.cluster, this.repo.location).set(Date.now() / 1000);
      this.newestBackup = new Date(m.created);
      // Record the backup in the lease so several schedulers can be audited.
      await this.repo
        .put(
          `${lease.slice(0, -'.json'.length)}.done.json`,
          Buffer.from(JSON.stringify({ backup: m.id, holder: this.holder })),
        )
        .catch(() => undefined);
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
    this.abort?.abort(Object.assign(new Error('interrupted by SIGTERM'), { name: 'AbortError' }));
    await this.running;
    await new Promise<void>((r) => {
      if (!this.server) return r();
      this.server.close(() => r());
      this.server.closeAllConnections();
    });
  }
}
