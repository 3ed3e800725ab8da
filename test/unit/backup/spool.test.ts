import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { checkSpoolPlacement, localEtcdProcesses, servesEndpoint } from '../../../src/backup/spool.js';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-spool-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A fake /proc with one process: cmdline, cwd and root links. */
function fakeProc(root: string, pid: number, args: string[], cwd: string): void {
  const p = join(root, String(pid));
  mkdirSync(p, { recursive: true });
  writeFileSync(join(p, 'cmdline'), `${args.join('\0')}\0`);
  symlinkSync(cwd, join(p, 'cwd'));
  symlinkSync('/', join(p, 'root'));
}

test('local etcd processes: data dir and client URLs from flags, defaults relative to the cwd', () => {
  const proc = join(dir, 'proc1');
  const data = join(dir, 'data1');
  mkdirSync(data);
  fakeProc(
    proc,
    100,
    [
      '/usr/bin/etcd',
      `--data-dir=${data}`,
      '--listen-client-urls',
      'https://10.0.0.5:2379,https://127.0.0.1:2379',
    ],
    dir,
  );
  fakeProc(proc, 200, ['etcd', '--name', 'm2'], dir);
  fakeProc(proc, 300, ['/usr/bin/etcdctl', 'get', 'x'], dir);
  const ps = localEtcdProcesses(proc).sort((a, b) => a.pid - b.pid);
  assert.deepEqual(
    ps.map((p) => [p.pid, p.dataDir]),
    [
      [100, data],
      [200, join(dir, 'm2.etcd')],
    ],
  );
  assert.deepEqual(ps[0]!.clientUrls, ['https://10.0.0.5:2379', 'https://127.0.0.1:2379']);
  assert.deepEqual(ps[1]!.clientUrls, ['http://localhost:2379']);
});

test('endpoint matching by host:port, wildcard listeners and localhost', () => {
  const e = { clientUrls: ['https://10.0.0.5:2379'] };
  assert.equal(servesEndpoint(e, 'https://10.0.0.5:2379'), true);
  assert.equal(servesEndpoint(e, 'https://10.0.0.6:2379'), false);
  assert.equal(servesEndpoint(e, 'https://10.0.0.5:2479'), false);
  assert.equal(servesEndpoint({ clientUrls: ['http://0.0.0.0:2379'] }, 'http://192.168.1.1:2379'), true);
  assert.equal(servesEndpoint({ clientUrls: ['http://localhost:2379'] }, 'http://127.0.0.1:2379'), true);
});

test("a spool on the data dir's filesystem is refused; another filesystem or a remote member is not", async () => {
  const proc = join(dir, 'proc2');
  const data = join(dir, 'data2');
  mkdirSync(data);
  fakeProc(proc, 42, ['etcd', `--data-dir=${data}`, '--listen-client-urls=https://127.9.9.9:2379'], dir);
  const same = await checkSpoolPlacement(dir, ['https://127.9.9.9:2379'], proc);
  assert.match(same.problem ?? '', /same filesystem as the data dir .*data2 of the etcd \(pid 42\)/);
  const other = await checkSpoolPlacement('/dev/shm', ['https://127.9.9.9:2379'], proc);
  assert.equal(other.problem, undefined);
  assert.match(other.notes.join('\n'), /not on the filesystem/);
  const remote = await checkSpoolPlacement(dir, ['https://10.1.1.1:2379'], proc);
  assert.equal(remote.problem, undefined);
  assert.match(remote.notes.join('\n'), /not knowable over gRPC/);
  const missing = await checkSpoolPlacement(join(dir, 'nope'), [], proc);
  assert.match(missing.problem ?? '', /does not exist/);
});
