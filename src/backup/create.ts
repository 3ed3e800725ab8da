/**
 * `backup create`: choose a member, stream its Maintenance.Snapshot through the trailer and meta-page
 * checks, compression and age encryption straight into the repository, then write the manifest. The data
 * object is complete before the manifest is written; a failed upload is aborted; if the streaming member
 * dies, the next eligible member is tried.
 */
import { PageNotKeptError } from '../bbolt/sparse.js';
import { EtcdClient } from '../etcd-client/client.js';
import { normaliseEndpoint, readTlsMaterial, type ConnectionConfig } from '../etcd-client/flags.js';
import { dataKey, manifestKey, snapshotObjectName } from '../stores/layout.js';
import type { Repository } from '../stores/repository.js';
import { ConnectionError, LifeboatError, UsageError, VerificationError } from '../util/errors.js';
import { hexId } from '../util/json.js';
import { lifeboatVersion } from '../util/version.js';
import type { Compression } from './compression.js';
import { AGE_FORMAT, recipientFingerprint } from './encryption.js';
import { newBackupId } from './ids.js';
import { inspectSnapshotFile, type SnapshotInspection } from './inspect.js';
import { InspectionFailed, InspectionWorker, parallelInspection } from './inspect-worker.js';
import { makeManifest, serializeManifest, type Artifact, type BackupManifest } from './manifest.js';
import { rankMembers, type CandidateState, type Choice } from './select.js';
import { openSpool } from './spool-file.js';
import type { PlainDone, StoredDone } from './pipeline.js';
import { PipelineThread } from './pipeline-worker.js';

/** The inspection read a page the sparse spool left out (on this thread or on the inspection worker). */
const notKept = (err: unknown): boolean =>
  err instanceof PageNotKeptError ||
  (err instanceof InspectionFailed && err.errorName === PageNotKeptError.name);

/** A `debug` line with the time since the process started, for finding where a backup's time goes. */
function timing(opts: Pick<CreateOptions, 'debug'>, what: string): void {
  opts.debug?.(`timing: ${(performance.now() / 1000).toFixed(2)} s since start: ${what}`);
}
export interface CreateProgress {
  member: string;
  /** Plain snapshot bytes received from the member so far. */
  bytes: number;
  /** The member's db size from Status (the stream is this plus 32 bytes). */
  total: bigint;
}

export interface CreateOptions {
  conn: ConnectionConfig;
  repo: Repository;
  clusterName?: string;
  /** age recipients; an empty list stores the snapshot unencrypted (only with allowUnencrypted). */
  recipients: string[];
  allowUnencrypted?: boolean;
  compression: Compression;
  compressionLevel?: number;
  discover?: boolean;
  member?: string;
  stallTimeoutMs?: number;
  now?: () => Date;
  log?: (line: string) => void;
  onProgress?: (p: CreateProgress) => void;
  signal?: AbortSignal;
  /**
   * Where to spool a plain copy for the full structure check and the content summary (used only when it
   * has ≥ 1.1× the db size free). Undefined: no spool; the manifest then says structureChecked: false.
   */
  spoolDir?: string;
  /** Where `--debug` details go (timings of the stages). */
  debug?: (line: string) => void;
  /** Why the caller chose not to spool (spoolDir undefined): recorded as the manifest's structureCheckSkipped. */
  spoolSkipReason?: string;
}

/** Status, name and alarms of every candidate endpoint. */
export async function gatherCandidates(
  conn: ConnectionConfig,
  discover: boolean,
  log: (l: string) => void,
): Promise<{ candidates: CandidateState[]; clients: Map<string, EtcdClient> }> {
  const material = readTlsMaterial(conn.tls);
  const clients = new Map<string, EtcdClient>();
  const client = (e: string) => {
    let c = clients.get(e);
    if (!c) {
      c = EtcdClient.withMaterial(e, material, conn.dialTimeoutMs, conn.commandTimeoutMs);
      clients.set(e, c);
    }
    return c;
  };
  const endpoints = [...conn.endpoints];
  const probe = async (e: string): Promise<CandidateState> => {
    try {
      const s = await client(e).status();
      return {
        endpoint: e,
        alarms: [],
        status: {
          memberId: s.header.memberId,
          clusterId: s.header.clusterId,
          leader: s.leader,
          raftAppliedIndex: s.raftAppliedIndex,
          isLearner: s.isLearner,
          version: s.version,
          dbSize: s.dbSize,
        },
      };
    } catch (err) {
      return { endpoint: e, alarms: [], error: err instanceof ConnectionError ? err.problem : String(err) };
    }
  };
  const candidates = await Promise.all(endpoints.map(probe));
  const answering = candidates.find((c) => c.status);
  if (answering) {
    const tls = answering.endpoint.startsWith('https:');
    try {
      const { members } = await client(answering.endpoint).memberList();
      const names = new Map(members.map((m) => [m.id, m.name]));
      if (discover) {
        const extra: string[] = [];
        for (const m of members) {
          if (m.isLearner) continue;
          for (const u of m.clientURLs) {
            const e = normaliseEndpoint(u, tls);
            if (!endpoints.includes(e) && !extra.includes(e)) extra.push(e);
          }
        }
        if (extra.length)
          log(`discovered ${extra.length} more client URL(s) from MemberList: ${extra.join(', ')}`);
        candidates.push(...(await Promise.all(extra.map(probe))));
      }
      for (const c of candidates) if (c.status) c.name = names.get(c.status.memberId) ?? '';
      const alarms = await client(answering.endpoint).alarms();
      for (const a of alarms) {
        for (const c of candidates) if (c.status?.memberId === a.memberId) c.alarms.push(a.alarm);
      }
    } catch (err) {
      log(`MemberList/Alarm on ${answering.endpoint} failed: ${(err as Error).message}`);
    }
  }
  return { candidates, clients };
}

/** Size of the batches the snapshot stream is regrouped into. */
const BATCH = 1 << 20;

/** The member's HashKV, asked for at a revision while the inspection ran. */
interface EarlyMemberHash {
  revision: bigint;
  result: ReturnType<EtcdClient['hashKV']>;
}

interface StreamResult {
  /** Removes the spool; to be awaited before the backup returns. */
  cleanup: Promise<void>;
  artifact: Artifact;
  txid: bigint;
  inspection?: SnapshotInspection;
  memberHash?: EarlyMemberHash;
  /** Why there is no inspection (structureChecked: false). */
  skipReason?: string;
}

async function streamFrom(
  choice: Choice,
  client: EtcdClient,
  key: string,
  opts: CreateOptions,
): Promise<StreamResult> {
  const c = choice.candidate;
  const what = `snapshot from ${c.endpoint}`;
  const log = opts.log ?? (() => undefined);
  const abort = new AbortController();
  const opened = await openSpool(opts.spoolDir, c.status!.dbSize, log);
  const spool = 'path' in opened ? opened : undefined;
  const spoolSkipReason = (): string | undefined =>
    spool ? spool.skipReason : (opts.spoolSkipReason ?? opened.skipReason);
  let worker: InspectionWorker | undefined;
  if (spool) {
    try {
      // Two threads when a split inspection may pay (the spool's share is known only at the end).
      worker = new InspectionWorker(parallelInspection(c.status!.dbSize, undefined, 0));
    } catch (err) {
      log(`inspection worker did not start (${(err as Error).message}); inspecting on the main thread`);
    }
  }
  let pipe: PipelineThread;
  try {
    pipe = new PipelineThread({
      what,
      compression: opts.compression,
      ...(opts.compressionLevel !== undefined ? { compressionLevel: opts.compressionLevel } : {}),
      recipients: opts.recipients,
      ...(spool ? { spoolFd: spool.fd } : {}),
    });
  } catch (err) {
    await worker?.close();
    await spool?.remove();
    throw err;
  }
  let plain: PlainDone | undefined;
  let inspecting: Promise<SnapshotInspection> | undefined;
  let memberHash: EarlyMemberHash | undefined;
  /** The member's failure (ConnectionError, VerificationError), not one thrown in by a failed upload. */
  let sourceError: unknown;
  let uploadFailed = false;
  const onOuterAbort = () => abort.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onOuterAbort);

  // The main thread only receives: etcd's 32 KiB messages are copied into 1 MiB batches whose memory moves
  // to the pipeline thread (pipeline-worker.ts), which checks, spools, compresses, encrypts and hashes, and
  // comes back for later batches; the stored buffers go back to the worker once the repository wrote them.
  const pump = async (): Promise<void> => {
    let batch = pipe.takeBuffer(BATCH);
    let fill = 0;
    let received = 0;
    const flush = async () => {
      const full = fill === BATCH ? batch : batch.subarray(0, fill);
      received += fill;
      batch = pipe.takeBuffer(BATCH);
      fill = 0;
      opts.onProgress?.({ member: c.name ?? c.endpoint, bytes: received, total: c.status!.dbSize });
      await pipe.write(full);
    };
    timing(opts, 'snapshot requested');
    let first = true;
    for await (const ch of client.snapshot({
      stallTimeoutMs: opts.stallTimeoutMs ?? 30_000,
      signal: abort.signal,
    })) {
      if (first) timing(opts, 'first snapshot bytes');
      first = false;
      for (let off = 0; off < ch.blob.length;) {
        const n = ch.blob.copy(batch, fill, off);
        off += n;
        fill += n;
        if (fill === BATCH) await flush();
      }
    }
    if (fill) await flush();
    timing(opts, 'stream received');
    plain = await pipe.end();
    if (spool && plain.spoolError) {
      spool.skipReason = `spool write failed (${plain.spoolError}); skipping the structure check`;
      log(spool.skipReason);
    }
    // The whole plain snapshot is spooled: inspect it on the worker while the pipeline writes the tail,
    // the repository syncs, and the member computes its HashKV at the snapshot's revision.
    if (spool && !spool.skipReason && worker) {
      const holes = plain.holes;
      if (holes) {
        const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
        log(
          `spooled ${mib(plain.spooledBytes ?? 0)} of ${mib(Number(plain.facts.size))}: ${holes.counts.reduce((a, n) => a + n, 0)} inner pages of large values kept as checksums only`,
        );
      }
      inspecting = worker.inspect(
        spool.path,
        (revision) => {
          const result = client.hashKV(revision);
          result.catch(() => undefined);
          memberHash = { revision, result };
        },
        holes,
        parallelInspection(
          c.status!.dbSize,
          undefined,
          (plain.spooledBytes ?? Number(plain.facts.size)) / Number(plain.facts.size),
        ),
      );
      inspecting.catch(() => undefined);
      inspecting.then(
        () => timing(opts, 'inspection done'),
        () => undefined,
      );
    }
  };
  const pumping = pump().catch((err: unknown) => {
    if (!uploadFailed) sourceError = err;
    pipe.fail(err instanceof Error ? err : new Error(String(err)));
  });

  let inspection: SnapshotInspection | undefined;
  let stored: StoredDone;
  try {
    try {
      await opts.repo.put(key, pipe.output, { signal: abort.signal, release: (c) => pipe.recycle(c) });
    } catch (err) {
      if (!sourceError) uploadFailed = true;
      abort.abort();
      pipe.fail(err as Error);
      await pumping;
      throw sourceError ?? err;
    } finally {
      opts.signal?.removeEventListener('abort', onOuterAbort);
    }
    timing(opts, 'put done');
    await pumping;
    if (sourceError) throw sourceError;
    stored = await pipe.stored;
    if (!plain) throw new LifeboatError(`${what} ended without its checks completing`);
    if (spool && !spool.skipReason && !inspecting) {
      try {
        inspecting = Promise.resolve(inspectSnapshotFile(spool.path, undefined, plain.holes));
      } catch (err) {
        inspecting = Promise.reject(err as Error);
      }
    }
    if (inspecting) {
      try {
        inspection = await inspecting;
      } catch (err) {
        if (notKept(err)) {
          // Lifeboat's guess of which pages the reader needs was wrong for this db: not the snapshot's
          // fault. The backup stands, unchecked, as with no spool; `backup verify` checks it in full.
          spool!.skipReason = `the structure check needed a page the sparse spool did not keep (${(err as Error).message}); run lifeboat backup verify`;
          log(spool!.skipReason);
          inspecting = undefined;
          inspection = undefined;
        } else {
          await opts.repo.delete(key).catch(() => undefined);
          if (err instanceof LifeboatError) throw err;
          throw new VerificationError(
            `${what}: inspection of the spooled copy failed: ${(err as Error).message}`,
          );
        }
      }
      if (inspection && !inspection.structureOk) {
        await opts.repo.delete(key).catch(() => undefined);
        throw new VerificationError(
          `${what}: bbolt structure check failed: ${inspection.structureProblems.slice(0, 3).join('; ')}`,
        );
      }
    }
  } catch (err) {
    await Promise.all([pipe.close(), worker?.close(), spool?.remove()]);
    throw err;
  }
  // The spool (a whole db) is removed while the member's HashKV is compared and the manifest is written;
  // the caller awaits `cleanup` before it returns.
  const cleanup = (async () => {
    await Promise.all([pipe.close(), worker?.close(), spool?.remove()]);
    timing(opts, 'spool removed');
  })();
  cleanup.catch(() => undefined);
  const facts = plain.facts;
  return {
    cleanup,
    ...(inspection ? { inspection } : {}),
    ...(memberHash ? { memberHash } : {}),
    ...(!inspection ? { skipReason: spoolSkipReason() ?? 'the spooled copy was not inspected' } : {}),
    txid: facts.txid,
    artifact: {
      kind: 'etcd-snapshot',
      object: key,
      size: facts.size,
      storedSize: BigInt(stored.storedBytes),
      sha256: facts.sha256,
      storedSha256: stored.storedSha256,
      compression: opts.compression,
      encryption: {
        format: opts.recipients.length ? AGE_FORMAT : 'none',
        recipientFingerprints: opts.recipients.map(recipientFingerprint),
      },
    },
  };
}

/** Compares the offline HashKV with the member's HashKV at the same revision, when it still has it. */
async function crossCheckHashKV(
  client: EtcdClient,
  ins: SnapshotInspection,
  early?: EarlyMemberHash,
): Promise<{ ok: boolean; message: string }> {
  try {
    const r = await (early?.revision === ins.revision ? early.result : client.hashKV(ins.revision));
    if (r.hash === ins.hashKV) {
      return { ok: true, message: `hashKV ${ins.hashKV} at revision ${ins.revision} matches the member's` };
    }
    return {
      ok: false,
      message: `hashKV mismatch at revision ${ins.revision}: snapshot ${ins.hashKV}, member ${r.hash} (member compact revision ${r.compactRevision})`,
    };
  } catch (err) {
    return {
      ok: true,
      message: `hashKV cross-check at revision ${ins.revision} skipped: ${(err as Error).message}`,
    };
  }
}

export async function createBackup(opts: CreateOptions): Promise<BackupManifest> {
  const log = opts.log ?? (() => undefined);
  if (opts.recipients.length === 0 && !opts.allowUnencrypted) {
    throw new UsageError(
      'backup create: no encryption recipient; pass --encryption-identity, --encryption-recipient or --recipients-file',
    );
  }
  const now = opts.now ?? (() => new Date());
  timing(opts, 'createBackup');
  const { candidates, clients } = await gatherCandidates(opts.conn, opts.discover ?? true, log);
  try {
    const ranked = rankMembers(candidates, opts.member);
    const created = now();
    const id = newBackupId(created);
    const key = dataKey(id, snapshotObjectName(opts.compression, opts.recipients.length > 0));
    let lastErr: unknown;
    for (const choice of ranked) {
      const c = choice.candidate;
      const who = `${c.name || '?'} (${hexId(c.status!.memberId)}) at ${c.endpoint}`;
      log(`backing up from ${who}: ${choice.reason}`);
      let result: StreamResult;
      try {
        result = await streamFrom(choice, clients.get(c.endpoint)!, key, opts);
      } catch (err) {
        lastErr = err;
        if (err instanceof ConnectionError && err.endpoint === c.endpoint && !opts.signal?.aborted) {
          log(`member ${who} failed mid-stream: ${err.problem}; trying the next eligible member`);
          continue;
        }
        throw err;
      }
      try {
        const ins = result.inspection;
        if (ins) {
          const cross = await crossCheckHashKV(clients.get(c.endpoint)!, ins, result.memberHash);
          timing(opts, 'hashKV cross-checked');
          log(cross.message);
          if (!cross.ok) {
            await opts.repo.delete(key).catch(() => undefined);
            throw new VerificationError(cross.message);
          }
        }
        const manifest = makeManifest({
          id,
          cluster: {
            name: opts.clusterName ?? hexId(c.status!.clusterId),
            etcdClusterId: hexId(c.status!.clusterId),
          },
          // Milliseconds kept: backups made within one second still order by creation (listBackups).
          created: created.toISOString(),
          lifeboatVersion: lifeboatVersion(),
          source: {
            memberId: hexId(c.status!.memberId),
            memberName: c.name ?? '',
            endpoint: c.endpoint,
            etcdVersion: c.status!.version,
            raftAppliedIndex: c.status!.raftAppliedIndex,
            reason: lastErr ? `${choice.reason} (after: ${(lastErr as Error).message})` : choice.reason,
          },
          revision: ins ? ins.revision : null,
          compactRevision: ins ? ins.compactRevision : null,
          liveKeys: ins ? ins.liveKeys : null,
          hashKV: ins ? ins.hashKV : null,
          structureChecked: Boolean(ins),
          structureCheckSkipped: ins ? null : (result.skipReason ?? 'the spooled copy was not inspected'),
          artifacts: [result.artifact],
          contents: ins ? { objectsPerResource: ins.objectsPerResource } : null,
        });
        try {
          await opts.repo.put(manifestKey(id), Buffer.from(serializeManifest(manifest)));
        } catch (err) {
          await opts.repo.delete(key).catch(() => undefined);
          throw err;
        }
        timing(opts, 'manifest written');
        return manifest;
      } finally {
        await result.cleanup;
      }
    }
    throw lastErr ?? new ConnectionError(opts.conn.endpoints[0] ?? '?', 'no member could be backed up');
  } finally {
    for (const c of clients.values()) c.close();
  }
}
