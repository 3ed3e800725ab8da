/**
 * Why a connection failed, in words an operator can act on. gRPC reports every dial failure as
 * "UNAVAILABLE"; a plain TCP/TLS probe with the same material tells unreachable, wrong CA, server name
 * mismatch and a refused client certificate apart.
 */
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { TlsMaterial } from './flags.js';

function splitAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(address.slice(i + 1)) };
}

function describeSocketError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'unreachable: connection refused (is etcd running and listening there?)';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'unreachable: no route to host';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'unreachable: host name does not resolve';
    case 'ETIMEDOUT':
      return 'unreachable: connection timed out';
    case 'ECONNRESET':
      return 'connection reset by the server';
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'CERT_SIGNATURE_FAILURE':
      return `server certificate not trusted (${err.code}): wrong --cacert?`;
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `server certificate does not name this host: ${err.message}`;
    case 'CERT_HAS_EXPIRED':
      return 'server certificate has expired';
    default:
      break;
  }
  const m = err.message ?? String(err);
  if (/certificate required|alert number 116/i.test(m)) {
    return 'client certificate refused: the server requires one (pass --cert and --key)';
  }
  if (/bad certificate|unknown ca|alert number 4[28]|certificate unknown/i.test(m)) {
    return 'client certificate refused by the server (not signed by a CA it trusts?)';
  }
  if (/wrong version number|packet length too long|http request/i.test(m)) {
    return 'TLS handshake failed: the endpoint does not speak TLS (use http://?)';
  }
  return `connection failed: ${m.replace(/\s*\n\s*/g, ' ')}`;
}

/**
 * Probes address with plain TCP or TLS; resolves to a one-line reason, or undefined when the probe
 * connected fine (then the failure lies elsewhere and the caller keeps its own message).
 */
export function diagnoseConnection(
  address: string,
  tls: boolean,
  material: TlsMaterial,
  timeoutMs: number,
): Promise<string | undefined> {
  const { host, port } = splitAddress(address);
  return new Promise((resolve) => {
    let settled = false;
    const done = (why: string | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(why);
    };
    const timer = setTimeout(() => done(`unreachable: no TCP/TLS answer within ${timeoutMs} ms`), timeoutMs);
    const socket = tls
      ? tlsConnect({
          host,
          port,
          ...(material.ca ? { ca: material.ca } : {}),
          ...(material.cert ? { cert: material.cert } : {}),
          ...(material.key ? { key: material.key } : {}),
          ALPNProtocols: ['h2'],
          servername: /^[\d.]+$|:/.test(host) ? '' : host,
        })
      : netConnect({ host, port });
    socket.on('error', (err: NodeJS.ErrnoException) => done(describeSocketError(err)));
    socket.on(tls ? 'secureConnect' : 'connect', () => {
      // With TLS 1.3 the server checks the client certificate after the client's handshake finished:
      // give it a moment to send its alert before calling the connection good.
      socket.write(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
      setTimeout(() => done(undefined), 400);
    });
    socket.on('close', () => {
      if (tls) done('the server closed the TLS connection (client certificate refused?)');
    });
  });
}
