/** Waiting for a real component to become healthy over HTTP(S), with client certificates. */
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { readFileSync } from 'node:fs';
import { ConnectionError } from '../util/errors.js';
import type { ManagedProcess } from './process.js';

export interface ClientTlsFiles {
  ca: string;
  cert: string;
  key: string;
}

export interface HttpAnswer {
  status: number;
  body: string;
}

export function httpGet(url: string, tls?: ClientTlsFiles, timeoutMs = 2000): Promise<HttpAnswer> {
  return httpCall('GET', url, undefined, tls, timeoutMs);
}

/** POSTs a JSON body (etcd's gRPC gateway: /v3/maintenance/status, /v3/kv/range, ...). */
export function httpPost(
  url: string,
  body: unknown,
  tls?: ClientTlsFiles,
  timeoutMs = 2000,
): Promise<HttpAnswer> {
  return httpCall('POST', url, JSON.stringify(body), tls, timeoutMs);
}

function httpCall(
  method: string,
  url: string,
  body: string | undefined,
  tls: ClientTlsFiles | undefined,
  timeoutMs: number,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const opts = {
      method,
      ...(body !== undefined
        ? { headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }
        : {}),
      timeout: timeoutMs,
      ...(u.protocol === 'https:' && tls
        ? { ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key) }
        : {}),
    };
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, opts, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Polls `url` until `ok(answer)` holds. Fails early if `proc` exits, naming its log file; fails at the
 * deadline with the last answer or error.
 */
export async function waitHealthy(
  url: string,
  opts: {
    tls?: ClientTlsFiles;
    timeoutMs: number;
    ok: (a: HttpAnswer) => boolean;
    proc?: ManagedProcess;
    what: string;
  },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (opts.proc && !opts.proc.running) {
      const st = opts.proc.exitStatus;
      throw new ConnectionError(
        url,
        `${opts.what} exited (code ${st?.code ?? '-'}, signal ${st?.signal ?? '-'}) before becoming healthy; see ${opts.proc.spec.logFile}`,
      );
    }
    try {
      const a = await httpGet(url, opts.tls);
      if (opts.ok(a)) return;
      last = `HTTP ${a.status}: ${a.body.slice(0, 200)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new ConnectionError(url, `${opts.what} not healthy after ${opts.timeoutMs} ms (last: ${last})`);
}
