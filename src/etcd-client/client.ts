/**
 * A client for one live etcd member over etcd's v3 gRPC API (@grpc/grpc-js with the hand-written subset
 * in etcd-v3.proto). TLS is always verified; every unary call has a deadline; every failure becomes a
 * ConnectionError with one line saying what went wrong (unreachable, wrong CA, client certificate refused,
 * no answer in time). 64-bit integers are bigint; member and cluster ids are printed in hex by callers.
 */
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs/minimal.js';
import { ConnectionError } from '../util/errors.js';
import { packageRoot } from '../util/version.js';
import { diagnoseConnection } from './diagnose.js';
import { readTlsMaterial, type ConnectionConfig, type TlsMaterial } from './flags.js';

type Raw = Record<string, unknown>;
type UnaryFn = (
  req: Raw,
  meta: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res: Raw) => void,
) => grpc.ClientUnaryCall;
type ServiceClient = grpc.Client & Record<string, UnaryFn>;
type ServiceCtor = new (address: string, creds: grpc.ChannelCredentials, options?: object) => ServiceClient;

/**
 * grpc-js passes the target host as TLS server name, and Node warns (DEP0123) when that is an IP address,
 * which is the normal case for etcd endpoints. The certificate is still checked against the IP SANs; only
 * that one warning is silenced.
 */
function silenceIpServernameWarning(): void {
  const p = process as unknown as { emitWarning: (...a: unknown[]) => void; __lifeboatDep0123?: boolean };
  if (p.__lifeboatDep0123) return;
  p.__lifeboatDep0123 = true;
  const orig = p.emitWarning.bind(process);
  p.emitWarning = (...a: unknown[]) => {
    const code = typeof a[1] === 'object' && a[1] ? (a[1] as { code?: string }).code : a[2];
    if (code === 'DEP0123') return;
    orig(...a);
  };
}

let services: { KV: ServiceCtor; Maintenance: ServiceCtor; Cluster: ServiceCtor } | undefined;
let definition: protoLoader.PackageDefinition | undefined;

function loadServices(): NonNullable<typeof services> {
  if (!services) {
    definition = protoLoader.loadSync(join(packageRoot(), 'src', 'etcd-client', 'etcd-v3.proto'), {
      longs: String,
      enums: String,
      defaults: true,
      keepCase: true,
    });
    const pkg = grpc.loadPackageDefinition(definition) as unknown as { etcdserverpb: typeof services };
    services = pkg.etcdserverpb!;
  }
  return services;
}

type SnapshotDecoder = (message: Buffer) => SnapshotChunk;
let snapshotDecoder: SnapshotDecoder | undefined;

/**
 * SnapshotResponse, decoded for the snapshot stream (tens of thousands of 32 KiB messages per GiB): only
 * `blob` (a view of the message, no copy), `remaining_bytes` and `version` are read and the header is
 * skipped, with protobufjs's Reader and the field numbers of etcd-v3.proto. proto-loader's generic decoding
 * (a message object, five 64-bit integers turned into strings, toObject) took ~6× the CPU of the receiving
 * thread for the same messages.
 */
export function decodeSnapshotResponse(): SnapshotDecoder {
  if (snapshotDecoder) return snapshotDecoder;
  loadServices();
  const { type } = definition!['etcdserverpb.SnapshotResponse'] as unknown as {
    type: { field: { name: string; number: number }[] };
  };
  const num = (name: string): number => {
    const f = type.field.find((x) => x.name === name);
    if (!f) throw new Error(`etcd-v3.proto: SnapshotResponse has no field ${name}`);
    return f.number;
  };
  const REMAINING = num('remaining_bytes');
  const BLOB = num('blob');
  const VERSION = num('version');
  snapshotDecoder = (message: Buffer) => {
    const r = protobuf.Reader.create(message);
    let blob = message.subarray(0, 0);
    let remainingBytes = 0n;
    let version = '';
    while (r.pos < r.len) {
      const tag = r.uint32();
      const field = tag >>> 3;
      if (field === BLOB && (tag & 7) === 2) {
        const n = r.uint32();
        blob = message.subarray(r.pos, r.pos + n);
        r.skip(n);
      } else if (field === REMAINING && (tag & 7) === 0) {
        const v = r.uint64() as unknown as { low: number; high: number };
        remainingBytes = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
      } else if (field === VERSION && (tag & 7) === 2) {
        version = r.string();
      } else {
        r.skipType(tag & 7);
      }
    }
    return { blob, remainingBytes, version };
  };
  return snapshotDecoder;
}

export interface ResponseHeader {
  clusterId: bigint;
  memberId: bigint;
  revision: bigint;
  raftTerm: bigint;
}

export interface MemberStatus {
  header: ResponseHeader;
  version: string;
  dbSize: bigint;
  dbSizeInUse: bigint;
  leader: bigint;
  raftIndex: bigint;
  raftTerm: bigint;
  raftAppliedIndex: bigint;
  errors: string[];
  isLearner: boolean;
  storageVersion: string;
}

export interface Member {
  id: bigint;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

export interface KeyValue {
  key: Buffer;
  value: Buffer;
  createRevision: bigint;
  modRevision: bigint;
  version: bigint;
  lease: bigint;
}

export type AlarmType = 'NONE' | 'NOSPACE' | 'CORRUPT';

export interface SnapshotChunk {
  blob: Buffer;
  remainingBytes: bigint;
  /** etcd 3.6+ sends its version with the first chunk; empty before. */
  version: string;
}

export interface SnapshotOptions {
  /** A stream that sends no bytes for this long counts as a dead member (default 30 s). */
  stallTimeoutMs?: number;
  signal?: AbortSignal;
}

const big = (v: unknown): bigint => BigInt((v as string | number | undefined) ?? 0);

function header(raw: unknown): ResponseHeader {
  const h = (raw ?? {}) as Raw;
  return {
    clusterId: big(h.cluster_id),
    memberId: big(h.member_id),
    revision: big(h.revision),
    raftTerm: big(h.raft_term),
  };
}

function kv(raw: Raw): KeyValue {
  return {
    key: raw.key as Buffer,
    value: raw.value as Buffer,
    createRevision: big(raw.create_revision),
    modRevision: big(raw.mod_revision),
    version: big(raw.version),
    lease: big(raw.lease),
  };
}

/** The gRPC target (host:port) of an endpoint URL. */
function target(endpoint: string): { address: string; tls: boolean } {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    throw new ConnectionError(endpoint, 'not a valid URL (expected https://host:port)');
  }
  const tls = u.protocol === 'https:';
  const port = u.port || '2379';
  return { address: `${u.hostname}:${port}`, tls };
}

export class EtcdClient {
  private readonly kvClient: ServiceClient;
  private readonly maintenance: ServiceClient;
  private readonly cluster: ServiceClient;
  private ready = false;

  private constructor(
    readonly endpoint: string,
    private readonly tlsMaterial: TlsMaterial,
    private readonly dialTimeoutMs: number,
    private readonly commandTimeoutMs: number,
  ) {
    silenceIpServernameWarning();
    const svc = loadServices();
    const t = target(endpoint);
    const creds = t.tls
      ? grpc.credentials.createSsl(tlsMaterial.ca ?? null, tlsMaterial.key ?? null, tlsMaterial.cert ?? null)
      : grpc.credentials.createInsecure();
    const opts = {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      'grpc.max_send_message_length': 16 * 1024 * 1024,
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 1000,
      // A 16 MiB HTTP/2 window instead of 64 KiB: the snapshot stream otherwise waits for a WINDOW_UPDATE
      // round trip every few 32 KiB messages and runs at a fraction of what etcd can send.
      'grpc-node.flow_control_window': 16 * 1024 * 1024,
    };
    this.kvClient = new svc.KV(t.address, creds, opts);
    // The same channel for the other services: grpc-js shares subchannels with identical credentials.
    this.maintenance = new svc.Maintenance(t.address, creds, opts);
    this.cluster = new svc.Cluster(t.address, creds, opts);
  }

  /** A client for one endpoint; nothing is dialled until the first call. */
  static forEndpoint(
    endpoint: string,
    conn: Pick<ConnectionConfig, 'tls' | 'dialTimeoutMs' | 'commandTimeoutMs'>,
  ) {
    return new EtcdClient(endpoint, readTlsMaterial(conn.tls), conn.dialTimeoutMs, conn.commandTimeoutMs);
  }

  /** Same as forEndpoint with already-read TLS material (avoids re-reading files per endpoint). */
  static withMaterial(endpoint: string, tls: TlsMaterial, dialTimeoutMs: number, commandTimeoutMs: number) {
    return new EtcdClient(endpoint, tls, dialTimeoutMs, commandTimeoutMs);
  }

  close(): void {
    this.kvClient.close();
    this.maintenance.close();
    this.cluster.close();
  }

  /** Waits for the connection (dial timeout); on failure says why in one line. */
  async connect(): Promise<void> {
    if (this.ready) return;
    const deadline = Date.now() + this.dialTimeoutMs;
    const wait = (c: grpc.Client) =>
      new Promise<void>((resolve, reject) =>
        c.waitForReady(deadline, (err) => (err ? reject(err) : resolve())),
      );
    try {
      await wait(this.maintenance);
      this.ready = true;
    } catch {
      throw await this.explain(`no connection within ${this.dialTimeoutMs} ms`);
    }
  }

  private async explain(fallback: string, cause?: unknown): Promise<ConnectionError> {
    const t = target(this.endpoint);
    const why = await diagnoseConnection(
      t.address,
      t.tls,
      this.tlsMaterial,
      Math.min(this.dialTimeoutMs, 3000),
    );
    return new ConnectionError(this.endpoint, why ?? fallback, { cause });
  }

  private async unary(client: ServiceClient, method: string, req: Raw, timeoutMs?: number): Promise<Raw> {
    await this.connect();
    const ms = timeoutMs ?? this.commandTimeoutMs;
    try {
      return await new Promise<Raw>((resolve, reject) => {
        client[method]!.call(client, req, new grpc.Metadata(), { deadline: Date.now() + ms }, (err, res) =>
          err ? reject(err) : resolve(res),
        );
      });
    } catch (err) {
      throw await this.mapError(err, method, ms);
    }
  }

  private async mapError(err: unknown, what: string, ms: number): Promise<ConnectionError> {
    const e = err as grpc.ServiceError;
    if (e?.code === grpc.status.DEADLINE_EXCEEDED) {
      return new ConnectionError(this.endpoint, `${what}: no answer within ${ms} ms`, { cause: err });
    }
    if (e?.code === grpc.status.UNAVAILABLE) {
      return this.explain(`${what}: unavailable (${e.details})`, err);
    }
    const name = typeof e?.code === 'number' ? grpc.status[e.code] : 'error';
    const details = e?.details || (err instanceof Error ? err.message : String(err));
    return new ConnectionError(this.endpoint, `${what} failed: ${name}: ${details}`, { cause: err });
  }

  async status(timeoutMs?: number): Promise<MemberStatus> {
    const r = await this.unary(this.maintenance, 'Status', {}, timeoutMs);
    return {
      header: header(r.header),
      version: String(r.version ?? ''),
      dbSize: big(r.dbSize),
      dbSizeInUse: big(r.dbSizeInUse),
      leader: big(r.leader),
      raftIndex: big(r.raftIndex),
      raftTerm: big(r.raftTerm),
      raftAppliedIndex: big(r.raftAppliedIndex),
      errors: (r.errors as string[] | undefined) ?? [],
      isLearner: Boolean(r.isLearner),
      storageVersion: String(r.storageVersion ?? ''),
    };
  }

  async memberList(): Promise<{ header: ResponseHeader; members: Member[] }> {
    const r = await this.unary(this.cluster, 'MemberList', { linearizable: false });
    const members = ((r.members as Raw[] | undefined) ?? []).map((m) => ({
      id: big(m.ID),
      name: String(m.name ?? ''),
      peerURLs: (m.peerURLs as string[]) ?? [],
      clientURLs: (m.clientURLs as string[]) ?? [],
      isLearner: Boolean(m.isLearner),
    }));
    return { header: header(r.header), members };
  }

  async alarms(): Promise<{ memberId: bigint; alarm: AlarmType }[]> {
    const r = await this.unary(this.maintenance, 'Alarm', { action: 'GET', memberID: '0', alarm: 'NONE' });
    return ((r.alarms as Raw[] | undefined) ?? []).map((a) => ({
      memberId: big(a.memberID),
      alarm: String(a.alarm) as AlarmType,
    }));
  }

  async hashKV(revision: bigint): Promise<{ header: ResponseHeader; hash: number; compactRevision: bigint }> {
    const r = await this.unary(this.maintenance, 'HashKV', { revision: revision.toString() }, 60_000);
    return { header: header(r.header), hash: Number(r.hash ?? 0), compactRevision: big(r.compact_revision) };
  }

  async range(
    key: Buffer | string,
    opts: { rangeEnd?: Buffer | string; limit?: number; revision?: bigint; countOnly?: boolean } = {},
  ): Promise<{ header: ResponseHeader; kvs: KeyValue[]; more: boolean; count: bigint }> {
    const r = await this.unary(this.kvClient, 'Range', {
      key: Buffer.from(key),
      range_end: opts.rangeEnd === undefined ? Buffer.alloc(0) : Buffer.from(opts.rangeEnd),
      limit: String(opts.limit ?? 0),
      revision: (opts.revision ?? 0n).toString(),
      count_only: Boolean(opts.countOnly),
    });
    return {
      header: header(r.header),
      kvs: ((r.kvs as Raw[] | undefined) ?? []).map(kv),
      more: Boolean(r.more),
      count: big(r.count),
    };
  }

  async put(key: Buffer | string, value: Buffer | string): Promise<ResponseHeader> {
    const r = await this.unary(this.kvClient, 'Put', { key: Buffer.from(key), value: Buffer.from(value) });
    return header(r.header);
  }

  async deleteRange(key: Buffer | string, rangeEnd?: Buffer | string): Promise<bigint> {
    const r = await this.unary(this.kvClient, 'DeleteRange', {
      key: Buffer.from(key),
      range_end: rangeEnd === undefined ? Buffer.alloc(0) : Buffer.from(rangeEnd),
    });
    return big(r.deleted);
  }

  /**
   * The Maintenance.Snapshot stream: the member's bbolt file followed by its 32-byte SHA-256. Yields the
   * chunks as they arrive (backpressure is honoured); a stall or a broken stream is a ConnectionError.
   */
  async *snapshot(opts: SnapshotOptions = {}): AsyncGenerator<SnapshotChunk> {
    await this.connect();
    const stallMs = opts.stallTimeoutMs ?? 30_000;
    // SnapshotRequest is empty: its encoding is no bytes.
    const call = this.maintenance.makeServerStreamRequest(
      '/etcdserverpb.Maintenance/Snapshot',
      () => Buffer.alloc(0),
      decodeSnapshotResponse(),
      {},
    );
    let stalled = false;
    let timer: NodeJS.Timeout | undefined;
    // Re-armed per message (tens of thousands per GiB): refresh() restarts the timer without a new one.
    const arm = () => {
      if (timer) timer.refresh();
      else
        timer = setTimeout(() => {
          stalled = true;
          call.cancel();
        }, stallMs);
    };
    const onAbort = () => call.cancel();
    opts.signal?.addEventListener('abort', onAbort);
    arm();
    try {
      for await (const chunk of call as AsyncIterable<SnapshotChunk>) {
        arm();
        yield chunk;
      }
    } catch (err) {
      if (stalled)
        throw new ConnectionError(this.endpoint, `snapshot stream sent no bytes for ${stallMs} ms`);
      if (opts.signal?.aborted) throw opts.signal.reason ?? err;
      throw await this.mapError(err, 'snapshot stream', stallMs);
    } finally {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      call.cancel();
    }
  }
}
