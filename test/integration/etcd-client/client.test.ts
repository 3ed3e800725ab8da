/**
 * The gRPC etcd client against real etcd 3.4 (Debian), 3.5 and 3.6 over TLS: KV, Status, MemberList,
 * Alarm, HashKV and the Snapshot stream agree with etcdctl; failures are one clear line each.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { EtcdClient } from '../../../src/etcd-client/client.js';
import { Harness } from '../../../src/lab/harness.js';
import { ConnectionError } from '../../../src/util/errors.js';
import { hexId } from '../../../src/util/json.js';
import { etcdctl } from '../../helpers/etcdctl.js';

for (const minor of ['3.4', '3.5', '3.6'] as const) {
  test(`etcd ${minor}: KV, Status, MemberList, Alarm, HashKV and Snapshot agree with etcdctl`, async () => {
    const h = await Harness.start({ etcdMembers: 1, etcdMinor: minor });
    const c = EtcdClient.forEndpoint(h.etcd.endpoints[0]!, {
      tls: h.etcd.clientTls!,
      dialTimeoutMs: 5000,
      commandTimeoutMs: 5000,
    });
    try {
      for (let i = 0; i < 20; i++) await c.put(`/k/${i}`, `v${i}`);
      assert.equal(await c.deleteRange('/k/19'), 1n);
      const r = await c.range('/k/', { rangeEnd: '/k0' });
      assert.equal(r.kvs.length, 19);
      assert.equal(r.count, 19n);
      assert.equal(r.kvs[0]!.key.toString(), '/k/0');
      const st = await c.status();
      assert.ok(st.version.startsWith(minor), st.version);
      assert.equal(st.header.revision, r.header.revision);
      const ml = await c.memberList();
      const ctl = JSON.parse((await etcdctl(h, ['member', 'list', '-w', 'json'])).stdout) as {
        header: { cluster_id: number };
        members: { ID: number; name: string }[];
      };
      // etcdctl prints ids as JSON numbers (lossy); compare the hex form of the exact text instead.
      const text = (await etcdctl(h, ['member', 'list', '-w', 'table', '--hex'])).stdout;
      assert.ok(text.includes(hexId(ml.members[0]!.id)), `${text} vs ${hexId(ml.members[0]!.id)}`);
      assert.equal(ml.members[0]!.name, ctl.members[0]!.name);
      assert.deepEqual(await c.alarms(), []);
      const hk = await c.hashKV(0n);
      const ctlHash = JSON.parse((await etcdctl(h, ['endpoint', 'hashkv', '-w', 'json'])).stdout) as {
        HashKV: { hash: number };
      }[];
      assert.equal(hk.hash, ctlHash[0]!.HashKV.hash);
      const parts: Buffer[] = [];
      for await (const ch of c.snapshot()) parts.push(ch.blob);
      const snap = Buffer.concat(parts);
      assert.equal(snap.length % 512, 32);
      const digest = createHash('sha256')
        .update(snap.subarray(0, snap.length - 32))
        .digest();
      assert.ok(digest.equals(snap.subarray(snap.length - 32)));
    } finally {
      c.close();
      await h.stop();
    }
  });
}

test('failures are one clear line: unreachable, wrong CA, no client certificate', async () => {
  const h = await Harness.start({ etcdMembers: 1 });
  try {
    const t = h.etcd.clientTls!;
    const cases: [string, string, Parameters<typeof EtcdClient.forEndpoint>[1]['tls'], RegExp][] = [
      ['unreachable', 'https://127.0.0.1:1', t, /unreachable: connection refused/],
      ['wrong CA', h.etcd.endpoints[0]!, { ...t, ca: '/etc/ssl/certs/ca-certificates.crt' }, /not trusted/],
      ['no client cert', h.etcd.endpoints[0]!, { ca: t.ca }, /client certificate refused/],
    ];
    for (const [name, ep, tls, re] of cases) {
      const c = EtcdClient.forEndpoint(ep, { tls, dialTimeoutMs: 2000, commandTimeoutMs: 2000 });
      try {
        await assert.rejects(c.status(), (e: unknown) => {
          assert.ok(e instanceof ConnectionError, name);
          assert.match(e.message, re, name);
          assert.ok(!e.message.includes('\n'), name);
          return true;
        });
      } finally {
        c.close();
      }
    }
  } finally {
    await h.stop();
  }
});
