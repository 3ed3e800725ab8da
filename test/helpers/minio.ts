/**
 * A real MinIO server for tests, on a loopback address block of its own, with generated root
 * credentials passed through the environment. Waits (up to 15 min) for a MinIO build still in progress
 * (the .complete marker of scripts/install-binaries); fails loudly if none appears.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { allocateBlock, type AddressBlock } from '../../src/lab/address-block.js';
import { cacheRoot, minioBinary } from '../../src/lab/binaries.js';
import { httpGet } from '../../src/lab/health.js';
import { ManagedProcess } from '../../src/lab/process.js';

export async function waitForMinioBuild(timeoutMs = 15 * 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const building = existsSync(cacheRoot())
      ? readdirSync(cacheRoot()).some(
          (d) => /^(\.tmp-)?minio-/.test(d) && !existsSync(join(cacheRoot(), d, '.complete')),
        )
      : false;
    try {
      return minioBinary();
    } catch (err) {
      if (!building || Date.now() > deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, 5000));
  }
}

export class Minio {
  private constructor(
    readonly endpoint: string,
    readonly accessKey: string,
    readonly secretKey: string,
    readonly dir: string,
    private readonly block: AddressBlock,
    private proc: ManagedProcess,
    private readonly binary: string,
    private readonly ip: string,
  ) {}

  static async start(): Promise<Minio> {
    const binary = await waitForMinioBuild();
    const block = allocateBlock('harness');
    const ip = block.host(50);
    const dir = mkdtempSync(join(tmpdir(), 'lifeboat-minio-'));
    const m = new Minio(
      `http://${ip}:9000`,
      `lb${randomBytes(6).toString('hex')}`,
      randomBytes(24).toString('hex'),
      dir,
      block,
      undefined as unknown as ManagedProcess,
      binary,
      ip,
    );
    await m.launch();
    return m;
  }

  /** Starts (or restarts) the server on the same data directory and address. */
  async launch(): Promise<void> {
    this.proc = ManagedProcess.start({
      name: 'minio',
      command: this.binary,
      args: [
        'server',
        join(this.dir, 'data'),
        '--address',
        `${this.ip}:9000`,
        '--console-address',
        `${this.ip}:9001`,
        '--quiet',
      ],
      logFile: join(this.dir, 'minio.log'),
      env: {
        ...process.env,
        MINIO_ROOT_USER: this.accessKey,
        MINIO_ROOT_PASSWORD: this.secretKey,
        MINIO_BROWSER: 'off',
        MINIO_UPDATE: 'off',
      },
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const r = await httpGet(`${this.endpoint}/minio/health/live`, undefined, 1000);
        if (r.status === 200) return;
      } catch {
        /* not yet */
      }
      if (!this.proc.running) throw new Error(`minio exited early; see ${join(this.dir, 'minio.log')}`);
      if (Date.now() > deadline)
        throw new Error(`minio not healthy within 30 s; see ${join(this.dir, 'minio.log')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async kill(): Promise<void> {
    await this.proc.stop('SIGKILL');
  }

  /** Environment for the AWS credential chain. */
  env(): NodeJS.ProcessEnv {
    return {
      AWS_ACCESS_KEY_ID: this.accessKey,
      AWS_SECRET_ACCESS_KEY: this.secretKey,
      AWS_REGION: 'us-east-1',
    };
  }

  async createBucket(name: string): Promise<void> {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const c = new S3Client({
      endpoint: this.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: this.accessKey, secretAccessKey: this.secretKey },
    });
    try {
      await c.send(new CreateBucketCommand({ Bucket: name }));
    } finally {
      c.destroy();
    }
  }

  repoUrl(bucket: string, prefix: string): string {
    return `s3://${bucket}/${prefix}?endpoint=${encodeURIComponent(this.endpoint)}`;
  }

  async stop(): Promise<void> {
    await this.proc?.stop('SIGKILL');
    this.block.release();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
