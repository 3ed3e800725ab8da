/** The lab control socket: answers travel back, errors come back as the same Lifeboat error class. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { request, serve, socketPath } from '../../../src/lab/control.js';
import { KWOK_STAGES } from '../../../src/lab/kwok-stages.js';
import { ConnectionError, NotFoundError, RefusedError } from '../../../src/util/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-control-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('requests are answered; refusals and not-found errors keep their class and message', async () => {
  const server = await serve(dir, (req) => {
    if (req.op === 'status') return Promise.resolve({ ok: 'yes', host: req.host ?? null });
    if (req.op === 'start') return Promise.reject(new RefusedError(`etcd member ${req.host} lost its data`));
    return Promise.reject(new NotFoundError(`host ${req.host}`, 'this lab'));
  });
  try {
    assert.deepEqual(await request(dir, { op: 'status', host: 'cp-1' }), { ok: 'yes', host: 'cp-1' });
    await assert.rejects(request(dir, { op: 'start', host: 'etcd-2' }), (e: Error) => {
      assert.ok(e instanceof RefusedError);
      assert.equal(e.message, 'etcd member etcd-2 lost its data');
      return true;
    });
    await assert.rejects(request(dir, { op: 'kill', host: 'cp-9' }), (e: Error) => {
      assert.ok(e instanceof NotFoundError);
      assert.equal(e.message, 'host cp-9 not found in this lab');
      return true;
    });
  } finally {
    server.close();
  }
});

test('no supervisor listening is a ConnectionError naming the socket', async () => {
  const other = mkdtempSync(join(tmpdir(), 'lifeboat-control-none-'));
  try {
    await assert.rejects(request(other, { op: 'status' }), (e: Error) => {
      assert.ok(e instanceof ConnectionError);
      assert.ok(e.message.startsWith(socketPath(other)));
      return true;
    });
  } finally {
    rmSync(other, { recursive: true, force: true });
  }
});

test('a very long lab directory gets a short socket path', () => {
  const long = join(tmpdir(), 'x'.repeat(150));
  assert.ok(Buffer.byteLength(socketPath(long)) < 108);
  assert.equal(socketPath(long), socketPath(long));
});

test('the kwok stages are four Stage documents: node ready, node heartbeat, pod running, pod delete', () => {
  const docs = parseAllDocuments(KWOK_STAGES).map(
    (d) => d.toJS() as { kind: string; metadata: { name: string } },
  );
  assert.deepEqual(
    docs.map((d) => `${d.kind}/${d.metadata.name}`),
    ['Stage/lab-node-ready', 'Stage/lab-node-heartbeat', 'Stage/lab-pod-running', 'Stage/lab-pod-delete'],
  );
});
