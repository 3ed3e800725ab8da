/**
 * Readers on a repository that is not there: a missing directory or S3 bucket is one line with exit 4
 * ("… not found"), an unreachable S3 endpoint one line with exit 5 — never an empty table.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { allocateBlock, type AddressBlock } from '../../../src/lab/address-block.js';
import { runCli } from '../../helpers/cli.js';
import { Minio } from '../../helpers/minio.js';

let minio: Minio;
let block: AddressBlock;

before(async () => {
  minio = await Minio.start();
  await minio.createBucket('present');
  block = allocateBlock('harness');
});

after(async () => {
  await minio?.stop();
  block?.release();
});

const oneLine = (s: string) => s.trim().split('\n').length === 1;

test('an existing empty bucket lists as an empty table (exit 0)', async () => {
  const r = await runCli(['backup', 'list', '--repo', minio.repoUrl('present', 'p/')], {
    env: { ...process.env, ...minio.env() },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ID\tCLUSTER/);
});

test('a missing bucket: one line, exit 4', async () => {
  for (const args of [
    ['backup', 'list', '--repo', minio.repoUrl('no-such-bucket', 'p/')],
    ['backup', 'list', '-o', 'json', '--repo', minio.repoUrl('no-such-bucket', '')],
  ]) {
    const r = await runCli(args, { env: { ...process.env, ...minio.env() } });
    assert.equal(r.code, 4, r.stderr);
    assert.equal(r.stdout, '');
    assert.ok(oneLine(r.stderr), r.stderr);
    assert.match(r.stderr, /bucket no-such-bucket not found/);
  }
});

test('an unreachable S3 endpoint: one line, exit 5', async () => {
  // A loopback address of our own block where nothing listens.
  const url = `s3://present/p/?endpoint=${encodeURIComponent(`http://${block.host(9)}:9000`)}`;
  const r = await runCli(['backup', 'list', '--repo', url], {
    env: { ...process.env, ...minio.env() },
    timeoutMs: 60_000,
  });
  assert.equal(r.code, 5, r.stderr);
  assert.equal(r.stdout, '');
  assert.ok(oneLine(r.stderr), r.stderr);
  assert.match(r.stderr, /unreachable/);
});
