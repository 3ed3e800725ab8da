/** The snapshot-reader proof against one real etcd minor version (see real-etcd.ts). */
import assert from 'node:assert/strict';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EtcdDb } from '../../../src/etcd/index.js';
import { etcdBinaries, type EtcdMinor } from '../../../src/lab/binaries.js';
import { Harness } from '../../../src/lab/harness.js';
import { runCli } from '../../helpers/cli.js';
import {
  cliInProcess,
  compareGets,
  compareHashKV,
  compareRaw,
  compareStatus,
  copyFile,
  Ctl,
  lifeboatStatus,
  queryId,
  run,
  runWorkload,
  stripIds,
  writeGzip,
  writeZip,
  type RunResult,
  type Workload,
} from './real-etcd.js';
import { parseExactJson, type ExactJson } from './exact-json.js';

export function snapshotSuite(minor: EtcdMinor): void {
  describe(`snapshot reader against real etcd ${minor}`, { timeout: 900_000 }, () => {
    let h: Harness;
    let w: Workload;
    let dir: string;

    before(async () => {
      h = await Harness.start({ etcdMinor: minor, etcdArgs: ['--max-request-bytes=10485760'] });
      dir = join(h.dir, 'snapshot-test');
      w = await runWorkload(h, dir);
    });
    after(async () => {
      await h?.stop();
    });

    it('snapshot status equals etcdutl 3.5 and etcdctl 3.4; liveKeys equals etcdutl 3.6 totalKey', async () => {
      const a = await compareStatus(w.snapA, true, ['--sha256']);
      const b = await compareStatus(w.snapB);
      assert.equal(a.format, 'etcdctl-snapshot');
      assert.deepEqual(a.sha256Trailer, { present: true, valid: true });
      // Without --sha256 the trailer is reported but not checked (as etcdutl; `verify` checks it).
      assert.deepEqual(b.sha256Trailer, { present: true });
      assert.equal(a.currentRevision, w.headA);
      assert.equal(a.compactRevision, w.rc);
      assert.equal(b.currentRevision, w.headB);
      assert.equal(b.compactRevision, w.headB);
    });

    it('kv get -w json equals etcdctl get -w json byte for byte at several revisions; compacted and future refused', async () => {
      const n = await compareGets(w.snapA, w.expectedA);
      assert.ok(n >= 40, `compared ${n} answers`);
    });

    it('kv get simple and fields output equal etcdctl byte for byte (binary keys and values included)', async () => {
      await compareRaw(w.snapA, w.raw);
    });

    it('after a compaction at head right after a delete: same answers, older revisions refused', async () => {
      await compareGets(w.snapB, w.expectedB);
    });

    it('hashKV equals etcd HashKV at several revisions', () => {
      compareHashKV(w.snapA, w.hashA);
      compareHashKV(w.snapB, w.hashB);
    });

    it('verify reports the snapshot sound; lease ids above 2^53 stay exact', async () => {
      const r = await runCli(['snapshot', 'verify', w.snapB, '-o', 'json'], { timeoutMs: 60000 });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const v = parseExactJson(r.stdout) as { sound: boolean; sha256Trailer: string };
      assert.equal(v.sound, true);
      assert.equal(v.sha256Trailer, 'valid');
      const db = EtcdDb.open(w.snapB);
      try {
        const leases = db.leases().map((l) => l.id);
        for (const id of w.leaseIds)
          assert.ok(leases.includes(id), `lease ${id.toString(16)} in the lease bucket`);
        const kv = db.mvcc.range({ key: Buffer.from('/lease/a') }).kvs[0]!;
        assert.ok(w.leaseIds.includes(kv.lease) && kv.lease > 2n ** 53n, `lease of /lease/a: ${kv.lease}`);
        // Compacted at head right after its deletion: at most the tombstone remains (etcd ≥ 3.5.16 keeps it).
        const deleted = db.mvcc.history(Buffer.from('/app/k0002'));
        assert.ok(
          deleted.revisions.every((x) => x.type === 'delete' && x.main === w.headB),
          'only the tombstone',
        );
        assert.equal(deleted.revisions.length, minor === '3.4' ? deleted.revisions.length : 1);
        const h1 = db.mvcc.history(Buffer.from('/app/k0001'));
        assert.equal(h1.revisions.at(-1)!.kv.value!.toString(), 'after-compaction');
        assert.equal(h1.compactRevision, w.headB);
      } finally {
        db.close();
      }
    });

    it('a zip (zip64 too) and a gzip of the snapshot read the same', async () => {
      const plain = await lifeboatStatus(w.snapB);
      const other = join(dir, 'notes.txt');
      copyFile(join(h.dir, 'pki', 'ca.crt'), other);
      for (const [name, zip64] of [
        ['k3s.zip', false],
        ['big.zip', true],
      ] as const) {
        const z = await writeZip(
          dir,
          name,
          [
            ['notes.txt', other],
            ['etcd-snapshot-node1-1700000000', w.snapB],
          ],
          zip64,
        );
        const s = await lifeboatStatus(z);
        assert.equal(s.format, 'zip');
        for (const k of [
          'hash',
          'revision',
          'totalKey',
          'totalSize',
          'liveKeys',
          'currentRevision',
        ] as const) {
          assert.deepEqual(s[k], plain[k], `${name}: ${k}`);
        }
        await compareGets(
          z,
          new Map([...w.expectedB].filter(([id]) => id === queryId(['', '--prefix'], w.headB))),
        );
      }
      const gz = writeGzip(dir, w.snapB);
      const s = await lifeboatStatus(gz);
      assert.equal(s.format, 'gzip');
      assert.equal(s.hash, plain.hash);
      const noDb = await writeZip(dir, 'empty.zip', [['notes.txt', other]], false);
      // The real binary: exit 3 and one line on stderr.
      const r = await runCli(['snapshot', 'status', noDb], { timeoutMs: 60000 });
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /holds no etcd snapshot/);
      assert.equal(r.stderr.trim().split('\n').length, 1);
      const v = await runCli(['snapshot', 'verify', noDb], { timeoutMs: 60000 });
      assert.equal(v.code, 3);
    });

    it('a copied member database (no trailer) and the data directory read the same as the snapshot', async () => {
      await h.etcd.kill(0);
      const m = h.etcd.member(0);
      const copy = copyFile(join(m.dataDir, 'member', 'snap', 'db'), join(dir, 'member.db'));
      const s = await lifeboatStatus(copy);
      assert.equal(s.format, 'member-db');
      assert.deepEqual(s.sha256Trailer, { present: false });
      assert.equal(s.currentRevision, w.headB);
      const u35 = await run(etcdBinaries('3.5').etcdutl!, ['snapshot', 'status', copy, '-w', 'json']);
      const ref = parseExactJson(u35.stdout.trim()) as { hash: bigint; totalKey: bigint; revision: bigint };
      assert.equal(s.hash, ref.hash);
      assert.equal(s.totalKey, ref.totalKey);
      await compareGets(
        copy,
        new Map([...w.expectedB].filter(([id]) => id === queryId(['', '--prefix'], w.headB))),
      );
      const d = await lifeboatStatus(m.dataDir);
      assert.equal(d.format, 'data-dir');
      assert.equal(d.hash, s.hash);
      assert.ok((d.dataDir as { walLastIndex?: bigint }).walLastIndex !== undefined, 'WAL last index found');
    });

    if (minor !== '3.4') {
      it('a restore with --bump-revision --mark-compacted: same keys, new revisions, old ones refused', async () => {
        const m = h.etcd.member(0);
        await h.etcd.kill(0);
        rmSync(m.dataDir, { recursive: true, force: true });
        const bump = 1000n;
        const r = await run(h.etcd.binaries.etcdutl!, [
          'snapshot',
          'restore',
          w.snapB,
          `--data-dir=${m.dataDir}`,
          `--name=${m.name}`,
          `--initial-cluster=${m.name}=${m.peerUrl}`,
          `--initial-advertise-peer-urls=${m.peerUrl}`,
          `--bump-revision=${bump}`,
          '--mark-compacted',
        ]);
        assert.equal(r.code, 0, r.stderr);
        const restored = join(m.dataDir, 'member', 'snap', 'db');
        const st = await compareStatus(restored);
        assert.equal(st.compactRevision, w.headB + bump);
        assert.equal(st.currentRevision, w.headB + bump);
        await h.etcd.restart(0);
        const ctl = new Ctl(h);
        const snapC = join(dir, 'c.snap');
        await ctl.ok(['snapshot', 'save', snapC]);
        const head = await ctl.revision();
        assert.equal(head, w.headB + bump);
        const expected = new Map<string, RunResult>();
        for (const q of [['', '--prefix'], ['/app/', '--prefix', '--keys-only'], ['/app/k0001']]) {
          expected.set(
            queryId(q, head),
            await ctl.run(['get', ...q, '--rev', head.toString(), '-w', 'json']),
          );
        }
        expected.set(
          queryId(['/app/k0001'], w.headB),
          await ctl.run(['get', '/app/k0001', '--rev', w.headB.toString(), '-w', 'json']),
        );
        await compareStatus(snapC);
        await compareGets(snapC, expected);
        const hk = parseExactJson(await ctl.ok(['endpoint', 'hashkv', '-w', 'json'])) as {
          HashKV: ExactJson;
        }[];
        compareHashKV(snapC, new Map([[head.toString(), hk[0]!.HashKV]]));
        // The bump marker is never shown as a key.
        const all = await cliInProcess(['kv', 'get', '', '--prefix', '--keys-only', '--from', snapC]);
        assert.equal(all.code, 0);
        assert.ok(!all.stdout.startsWith('\n'), 'no empty key listed');
        assert.ok(statSync(snapC).size > 0);
        void stripIds;
      });
    }
  });
}
