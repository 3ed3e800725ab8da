/**
 * A repository in S3 or an S3-compatible store (MinIO, Ceph RGW) through the AWS SDK v3.
 *
 *   s3://bucket[/prefix][?endpoint=URL&region=R&path-style=true|false&sse=AES256|aws:kms&sse-kms-key-id=K&ca=FILE]
 *
 * Credentials come from the standard AWS chain (environment, shared config/credentials files, web
 * identity, instance metadata). `endpoint` (or AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL) overrides the
 * service address; path-style addressing is the default when an endpoint is given. Uploads stream as
 * multipart uploads; a failed upload is aborted so no incomplete multipart upload is left.
 */
import { readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type ServerSideEncryption,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { ConnectionError, LifeboatError, NotFoundError, RefusedError, UsageError } from '../util/errors.js';
import type { ObjectInfo, PutOptions, Repository } from './repository.js';

export interface S3Location {
  bucket: string;
  prefix: string;
  endpoint?: string;
  region: string;
  pathStyle: boolean;
  sse?: ServerSideEncryption;
  sseKmsKeyId?: string;
  caFile?: string;
}

export function parseS3Url(url: string, env: NodeJS.ProcessEnv = process.env): S3Location {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`--repo: expected s3://bucket/prefix, found '${url}'`);
  }
  if (u.protocol !== 's3:' || !u.hostname)
    throw new UsageError(`--repo: expected s3://bucket/prefix, found '${url}'`);
  const q = u.searchParams;
  const known = new Set(['endpoint', 'region', 'path-style', 'sse', 'sse-kms-key-id', 'ca']);
  for (const k of q.keys()) {
    if (!known.has(k))
      throw new UsageError(`--repo: unknown S3 option '${k}' (known: ${[...known].join(', ')})`);
  }
  const endpoint = q.get('endpoint') ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL ?? undefined;
  const prefix = decodeURIComponent(u.pathname.replace(/^\/+/, ''));
  const loc: S3Location = {
    bucket: u.hostname,
    prefix: prefix && !prefix.endsWith('/') ? `${prefix}/` : prefix,
    region: q.get('region') ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    pathStyle: q.has('path-style') ? q.get('path-style') !== 'false' : Boolean(endpoint),
  };
  if (endpoint) loc.endpoint = endpoint;
  const sse = q.get('sse');
  if (sse) {
    if (sse !== 'AES256' && sse !== 'aws:kms') {
      throw new UsageError(`--repo: sse must be AES256 or aws:kms, found '${sse}'`);
    }
    loc.sse = sse;
  }
  const kms = q.get('sse-kms-key-id');
  if (kms) loc.sseKmsKeyId = kms;
  const ca = q.get('ca');
  if (ca) loc.caFile = ca;
  return loc;
}

interface AwsError {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

export class S3Repository implements Repository {
  private constructor(
    readonly loc: S3Location,
    readonly client: S3Client,
  ) {}

  get location(): string {
    return `s3://${this.loc.bucket}/${this.loc.prefix}`;
  }

  static open(url: string): S3Repository {
    // Lifeboat targets Node 20 on purpose; the SDK's multi-line notice about future Node 22 releases would
    // break the one-line error contract on stderr.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const loc = parseS3Url(url);
    const requestHandler = new NodeHttpHandler({
      connectionTimeout: 5000,
      requestTimeout: 60_000,
      ...(loc.caFile
        ? { httpsAgent: new HttpsAgent({ ca: readFileSync(loc.caFile), keepAlive: true }) }
        : {}),
    });
    const client = new S3Client({
      region: loc.region,
      forcePathStyle: loc.pathStyle,
      requestHandler,
      maxAttempts: 3,
      ...(loc.endpoint ? { endpoint: loc.endpoint } : {}),
    });
    return new S3Repository(loc, client);
  }

  private full(key: string): string {
    return `${this.loc.prefix}${key}`;
  }

  private sseParams(): { ServerSideEncryption?: ServerSideEncryption; SSEKMSKeyId?: string } {
    return {
      ...(this.loc.sse ? { ServerSideEncryption: this.loc.sse } : {}),
      ...(this.loc.sseKmsKeyId ? { SSEKMSKeyId: this.loc.sseKmsKeyId } : {}),
    };
  }

  /** Maps SDK errors to Lifeboat's: unreachable/auth → ConnectionError, missing → NotFoundError. */
  private mapError(err: unknown, what: string): LifeboatError {
    if (err instanceof LifeboatError) return err;
    const e = (err ?? {}) as AwsError;
    const status = e.$metadata?.httpStatusCode;
    const name = e.name ?? e.code ?? 'Error';
    if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) {
      if (name === 'NoSuchBucket')
        return new NotFoundError(`bucket ${this.loc.bucket}`, this.loc.endpoint ?? 'S3');
      return new NotFoundError(what, this.location);
    }
    if (name === 'NoSuchBucket')
      return new NotFoundError(`bucket ${this.loc.bucket}`, this.loc.endpoint ?? 'S3');
    if (status === 403 || /AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|Credentials/i.test(name)) {
      return new ConnectionError(this.location, `${what}: access denied (${name}: ${e.message ?? ''})`, {
        cause: err,
      });
    }
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (/ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|EPIPE/.test(`${code} ${e.message ?? ''}`)) {
      return new ConnectionError(this.location, `${what}: repository unreachable (${code || e.message})`, {
        cause: err,
      });
    }
    if (/TimeoutError|RequestTimeout/.test(name)) {
      return new ConnectionError(this.location, `${what}: repository timed out`, { cause: err });
    }
    return new ConnectionError(this.location, `${what}: ${name}: ${e.message ?? String(err)}`, {
      cause: err,
    });
  }

  async put(key: string, body: Readable | Uint8Array, opts: PutOptions = {}): Promise<{ size: number }> {
    if (body instanceof Uint8Array) return this.putSmall(key, body);
    if (await this.stat(key)) throw new RefusedError(`${this.location}: object ${key} already exists`);
    let size = 0;
    const source = body instanceof Uint8Array ? Readable.from([body]) : body;
    const counted = source.on('data', (c: Uint8Array) => {
      size += c.length;
      opts.onProgress?.(size);
    });
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.loc.bucket,
        Key: this.full(key),
        Body: counted,
        ...this.sseParams(),
      },
      // Four 8 MiB parts in flight (32 MiB buffered): a remote store's per-request latency overlaps the
      // stream instead of pausing it.
      partSize: 8 * 1024 * 1024,
      queueSize: 4,
      leavePartsOnError: false,
    });
    const onAbort = () => void upload.abort();
    opts.signal?.addEventListener('abort', onAbort);
    let failed: unknown;
    const onSourceError = (err: unknown) => {
      failed = err;
      void upload.abort();
    };
    source.once('error', onSourceError);
    try {
      await upload.done();
      if (failed) throw failed;
      return { size };
    } catch (err) {
      await upload.abort().catch(() => undefined);
      let mapped = this.mapError(err, `upload of ${key}`);
      if (/abort/i.test(mapped.message)) {
        // The SDK reports its own abort; say why the upload failed if the store is gone.
        const why = await this.probe();
        if (why) mapped = this.mapError(why, `upload of ${key}`);
      }
      await this.abortIncompleteUploads(key, 30_000);
      // A source that failed on its own wins; a source torn down because the upload failed does not.
      if (failed && !(failed instanceof Error && failed.name === 'AbortError')) throw failed;
      if (opts.signal?.aborted) throw opts.signal.reason ?? err;
      throw mapped;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      source.off('error', onSourceError);
    }
  }

  /**
   * A small object in one conditional PutObject (If-None-Match: *): atomic write-once, so two writers of
   * the same key (manifests, scheduler leases) never both succeed.
   */
  private async putSmall(key: string, body: Uint8Array): Promise<{ size: number }> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.loc.bucket,
          Key: this.full(key),
          Body: body,
          IfNoneMatch: '*',
          ...this.sseParams(),
        }),
      );
      return { size: body.length };
    } catch (err) {
      const e = err as AwsError;
      if (
        e.$metadata?.httpStatusCode === 412 ||
        e.name === 'PreconditionFailed' ||
        e.$metadata?.httpStatusCode === 409
      ) {
        throw new RefusedError(`${this.location}: object ${key} already exists`);
      }
      throw this.mapError(err, `upload of ${key}`);
    }
  }

  /** Undefined when the bucket answers, else the error. */
  private async probe(): Promise<unknown> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.loc.bucket }), {
        abortSignal: AbortSignal.timeout(5000),
      });
      return undefined;
    } catch (err) {
      return err;
    }
  }

  async get(key: string): Promise<Readable> {
    try {
      const r = await this.client.send(
        new GetObjectCommand({ Bucket: this.loc.bucket, Key: this.full(key) }),
      );
      return r.Body as Readable;
    } catch (err) {
      throw this.mapError(err, `object ${key}`);
    }
  }

  async getBytes(key: string): Promise<Buffer> {
    const s = await this.get(key);
    const parts: Buffer[] = [];
    for await (const c of s as AsyncIterable<Buffer>) parts.push(c);
    return Buffer.concat(parts);
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    try {
      const r = await this.client.send(
        new HeadObjectCommand({ Bucket: this.loc.bucket, Key: this.full(key) }),
      );
      return { key, size: r.ContentLength ?? 0, modified: r.LastModified ?? new Date(0) };
    } catch (err) {
      const mapped = this.mapError(err, `object ${key}`);
      if (mapped instanceof NotFoundError && !/bucket/.test(mapped.what)) return undefined;
      throw mapped;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    try {
      do {
        const r = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.loc.bucket,
            Prefix: this.full(prefix),
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
        for (const o of r.Contents ?? []) {
          if (!o.Key) continue;
          out.push({
            key: o.Key.slice(this.loc.prefix.length),
            size: o.Size ?? 0,
            modified: o.LastModified ?? new Date(0),
          });
        }
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw this.mapError(err, `listing ${prefix || '/'}`);
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.loc.bucket, Key: this.full(key) }));
    } catch (err) {
      const mapped = this.mapError(err, `object ${key}`);
      if (mapped instanceof NotFoundError) return;
      throw mapped;
    }
  }

  /**
   * Aborts every incomplete multipart upload of exactly `key`, retrying for up to `patienceMs` while the
   * store is unreachable (a store that restarts mid-upload keeps the upload's parts otherwise).
   */
  async abortIncompleteUploads(key: string, patienceMs: number): Promise<boolean> {
    const deadline = Date.now() + patienceMs;
    let delay = 250;
    for (;;) {
      try {
        const r = await this.client.send(
          new ListMultipartUploadsCommand({ Bucket: this.loc.bucket, Prefix: this.full(key) }),
        );
        for (const u of r.Uploads ?? []) {
          if (u.Key !== this.full(key) || !u.UploadId) continue;
          await this.client.send(
            new AbortMultipartUploadCommand({ Bucket: this.loc.bucket, Key: u.Key, UploadId: u.UploadId }),
          );
        }
        return true;
      } catch {
        if (Date.now() + delay > deadline) return false;
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 4000);
      }
    }
  }

  /** Incomplete multipart uploads under prefix with their start time (for gc). */
  async incompleteUploadsSince(prefix = ''): Promise<{ key: string; initiated: Date }[]> {
    try {
      const r = await this.client.send(
        new ListMultipartUploadsCommand({ Bucket: this.loc.bucket, Prefix: this.full(prefix) }),
      );
      return (r.Uploads ?? []).map((u) => ({
        key: (u.Key ?? '').slice(this.loc.prefix.length),
        initiated: u.Initiated ?? new Date(0),
      }));
    } catch (err) {
      throw this.mapError(err, 'listing multipart uploads');
    }
  }

  /** Keys of incomplete multipart uploads under prefix (tests and gc). */
  async incompleteUploads(prefix = ''): Promise<string[]> {
    try {
      const r = await this.client.send(
        new ListMultipartUploadsCommand({ Bucket: this.loc.bucket, Prefix: this.full(prefix) }),
      );
      return (r.Uploads ?? []).map((u) => (u.Key ?? '').slice(this.loc.prefix.length));
    } catch (err) {
      throw this.mapError(err, 'listing multipart uploads');
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
