/**
 * The lab supervisor's control socket: one JSON request per connection, one JSON answer. Errors travel as
 * {class, message} and are rethrown as the same Lifeboat error class on the client side.
 */
import { createHash } from 'node:crypto';
import { createConnection, createServer, type Server } from 'node:net';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConnectionError, LifeboatError, NotFoundError, RefusedError, UsageError } from '../util/errors.js';

export type LabOp = 'status' | 'up' | 'down' | 'kill' | 'stop' | 'start' | 'wipe' | 'partition' | 'heal';

export interface LabRequest {
  op: LabOp;
  host?: string;
  component?: string;
}

type Answer = { ok: true; result: unknown } | { ok: false; error: { class: string; message: string } };

/** A unix socket path short enough for sun_path (108 bytes), stable for the lab directory. */
export function socketPath(labDir: string): string {
  const inDir = join(labDir, 'supervisor.sock');
  if (Buffer.byteLength(inDir) < 100) return inDir;
  const h = createHash('sha256').update(labDir).digest('hex').slice(0, 16);
  return join(process.env.XDG_RUNTIME_DIR || tmpdir(), `lifeboat-lab-${h}.sock`);
}

function revive(e: { class: string; message: string }): Error {
  switch (e.class) {
    case 'UsageError':
      return new UsageError(e.message);
    case 'RefusedError':
      return new RefusedError(e.message);
    case 'NotFoundError': {
      const err = new NotFoundError(e.message);
      err.message = e.message;
      return err;
    }
    case 'ConnectionError': {
      const err = new ConnectionError('lab', e.message);
      err.message = e.message;
      return err;
    }
    default:
      return new LifeboatError(e.message);
  }
}

/** Sends one request; ConnectionError if no supervisor answers. */
export function request<T>(labDir: string, req: LabRequest, timeoutMs = 120000): Promise<T> {
  const path = socketPath(labDir);
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(
        new ConnectionError(path, `the lab supervisor did not answer '${req.op}' within ${timeoutMs} ms`),
      );
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(JSON.stringify(req) + '\n'));
    sock.on('data', (c: string) => (buf += c));
    sock.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new ConnectionError(path, `no lab supervisor is listening (${err.code ?? err.message})`));
    });
    sock.on('end', () => {
      clearTimeout(timer);
      try {
        const a = JSON.parse(buf) as Answer;
        if (a.ok) resolve(a.result as T);
        else reject(revive(a.error));
      } catch {
        reject(new ConnectionError(path, `the lab supervisor sent no answer to '${req.op}'`));
      }
    });
  });
}

/** Serves requests until closed. */
export function serve(labDir: string, handler: (req: LabRequest) => Promise<unknown>): Promise<Server> {
  const path = socketPath(labDir);
  rmSync(path, { force: true });
  const server = createServer((sock) => {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('error', () => undefined);
    sock.on('data', (c: string) => {
      buf += c;
      if (!buf.includes('\n')) return;
      let req: LabRequest;
      try {
        req = JSON.parse(buf.split('\n')[0]!) as LabRequest;
      } catch {
        sock.end(JSON.stringify({ ok: false, error: { class: 'UsageError', message: 'bad request' } }));
        return;
      }
      handler(req).then(
        (result) => sock.end(JSON.stringify({ ok: true, result: result ?? null } satisfies Answer)),
        (err: unknown) => {
          const e = err instanceof Error ? err : new Error(String(err));
          const cls = err instanceof LifeboatError ? e.name : 'LifeboatError';
          sock.end(JSON.stringify({ ok: false, error: { class: cls, message: e.message } } satisfies Answer));
        },
      );
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve(server));
  });
}
