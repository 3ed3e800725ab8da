/**
 * A runner process holding a 3-member etcd and a kube-apiserver is SIGKILLed: within 5 s none of its
 * processes may remain (pdeathsig).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isLive, waitUntil } from '../../helpers/procs.js';

test('SIGKILL of the runner leaves no etcd or kube-apiserver process after 5 s', async () => {
  const runner = spawn(
    process.execPath,
    [
      join(import.meta.dirname, '..', '..', 'fixtures', 'harness-runner.js'),
      JSON.stringify({ etcdMembers: 3, apiserver: true }),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let stateDir: string | undefined;
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let buf = '';
      const timer = setTimeout(
        () => reject(new Error('runner did not report its pids within 120 s')),
        120000,
      );
      runner.stdout!.setEncoding('utf8').on('data', (c: string) => {
        buf += c;
        if (buf.includes('\n')) {
          clearTimeout(timer);
          resolve(buf.split('\n')[0]!);
        }
      });
      runner.on('exit', (code) => reject(new Error(`runner exited early with ${code}`)));
    });
    const { pids, dir } = JSON.parse(line) as { pids: number[]; dir: string };
    stateDir = dir;
    assert.equal(pids.length, 4, 'three etcd members and one kube-apiserver');
    for (const pid of pids) assert.ok(isLive(pid), `pid ${pid} should be running before the kill`);
    runner.kill('SIGKILL');
    const gone = await waitUntil(() => pids.every((p) => !isLive(p)), 5000);
    const left = pids.filter(isLive);
    assert.ok(gone, `still running 5 s after SIGKILL: ${left.join(', ')}`);
  } finally {
    runner.kill('SIGKILL');
    // The killed runner could not remove its state directory: that is the test's job.
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  }
});

test('the fixture is compiled next to the tests', () => {
  assert.ok(existsSync(join(import.meta.dirname, '..', '..', 'fixtures', 'harness-runner.js')));
});
