/** A recorded process matches only while pid, start time and executable all still match. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { identify, signalIfSame, stillRunning } from '../../../src/lab/proc-identity.js';

test('this process identifies itself and still matches', () => {
  const me = identify(process.pid)!;
  assert.equal(me.exe, process.execPath);
  assert.match(me.startTime, /^\d+$/);
  assert.ok(stillRunning(me));
});

test('a different start time or executable does not match, and is not signalled', () => {
  const me = identify(process.pid)!;
  assert.ok(!stillRunning({ ...me, startTime: String(BigInt(me.startTime) + 1n) }));
  assert.ok(!stillRunning({ ...me, exe: '/bin/false' }));
  assert.equal(signalIfSame({ ...me, exe: '/bin/false' }, 'SIGKILL'), false);
});

test('a child is signalled while it matches, and no longer matches once reaped', async () => {
  const child = spawn('sleep', ['30']);
  await new Promise((r) => setTimeout(r, 100));
  const id = identify(child.pid!)!;
  assert.match(id.exe, /sleep$/);
  const exited = new Promise((r) => child.once('exit', r));
  assert.equal(signalIfSame(id, 'SIGKILL'), true);
  await exited;
  assert.ok(!stillRunning(id));
  assert.equal(identify(child.pid!), undefined);
});
