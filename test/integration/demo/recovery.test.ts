/**
 * README command (a) end to end: `lifeboat demo` brings up a real lab, backs it up, deletes a ConfigMap and
 * a Deployment, shows them removed in a diff, recovers their YAML from the backup, and takes the lab down.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { runCli } from '../../helpers/cli.js';

test('lifeboat demo recovers the deleted ConfigMap and Deployment and leaves nothing running', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-demo-test-'));
  try {
    const r = await runCli(['demo', '--dir', dir], { timeoutMs: 240000 });
    assert.equal(r.code, 0, `demo failed:\n${r.stdout}\n${r.stderr}`);
    for (let i = 1; i <= 9; i++) assert.match(r.stdout, new RegExp(`\\[${i}/9\\]`), `step ${i} narrated`);
    assert.match(r.stdout, /removed\s+configmaps\/shop\/app-config/);
    assert.match(r.stdout, /removed\s+deployments\.apps\/shop\/web/);
    const docs = parseAllDocuments(readFileSync(join(dir, 'recovered.yaml'), 'utf8')).map(
      (d) =>
        d.toJSON() as {
          kind: string;
          metadata: { name: string; namespace: string };
          data?: Record<string, string>;
        },
    );
    assert.deepEqual(
      docs.map((d) => `${d.kind}/${d.metadata.namespace}/${d.metadata.name}`),
      ['ConfigMap/shop/app-config', 'Deployment/shop/web'],
    );
    assert.equal(docs[0]!.data?.MODE, 'production');
    const status = await runCli(['lab', 'status', '--dir', join(dir, 'lab'), '--json']);
    assert.notEqual(status.code, 0, 'the lab must be down after the demo');
    assert.ok(!existsSync(join(dir, 'lab', 'supervisor.sock')), 'no supervisor socket left');
  } finally {
    await runCli(['lab', 'down', '--dir', join(dir, 'lab')]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
});
