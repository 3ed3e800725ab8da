/** The lab's TCP balancer: skips a backend that refuses connections and one its check marks unready. */
import assert from 'node:assert/strict';
import { connect, createServer, type Server } from 'node:net';
import { after, test } from 'node:test';
import { TcpBalancer } from '../../../src/lab/balancer.js';

const servers: Server[] = [];
after(() => servers.forEach((s) => s.close()));

async function backend(reply: string): Promise<number> {
  const s = createServer((c) => c.end(reply));
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return (s.address() as { port: number }).port;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function ask(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(port, '127.0.0.1');
    let buf = '';
    c.setEncoding('utf8').on('data', (d: string) => (buf += d));
    c.on('end', () => resolve(buf));
    c.on('error', reject);
  });
}

test('connections go round robin to ready backends, never to a refusing or unready one', async () => {
  const a = await backend('a');
  const b = await backend('b');
  const dead = await freePort();
  const c = await backend('c');
  const lbPort = await freePort();
  const lb = await TcpBalancer.start({
    host: '127.0.0.1',
    port: lbPort,
    backends: [
      { name: 'a', host: '127.0.0.1', port: a },
      { name: 'dead', host: '127.0.0.1', port: dead },
      { name: 'b', host: '127.0.0.1', port: b },
      { name: 'c', host: '127.0.0.1', port: c },
    ],
    check: (bk) => Promise.resolve(bk.name !== 'c'),
    checkEveryMs: 60000,
  });
  try {
    assert.deepEqual(lb.readiness(), { a: true, dead: true, b: true, c: false });
    const answers: string[] = [];
    for (let i = 0; i < 8; i++) answers.push(await ask(lbPort));
    assert.deepEqual([...new Set(answers)].sort(), ['a', 'b']);
  } finally {
    await lb.close();
  }
});
