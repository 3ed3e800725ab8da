/** The repository conformance suite against a real MinIO through the AWS SDK v3. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { S3Repository } from '../../../src/stores/s3.js';
import { ConnectionError } from '../../../src/util/errors.js';
import { Minio } from '../../helpers/minio.js';
import { repositoryConformance } from '../../helpers/repo-conformance.js';

let minio: Minio;
before(async () => {
  minio = await Minio.start();
  Object.assign(process.env, minio.env());
  await minio.createBucket('conformance');
});
after(async () => {
  await minio?.stop();
});

repositoryConformance(
  'minio',
  async () => S3Repository.open(minio.repoUrl('conformance', `t-${randomBytes(4).toString('hex')}`)),
  { incompleteUploads: (r) => (r as S3Repository).incompleteUploads() },
);

test('minio: wrong credentials are a ConnectionError saying access denied', async () => {
  const saved = process.env.AWS_SECRET_ACCESS_KEY;
  process.env.AWS_SECRET_ACCESS_KEY = 'wrong-secret-key-0000';
  const r = S3Repository.open(minio.repoUrl('conformance', 'x'));
  try {
    await assert.rejects(
      r.list(''),
      (e: unknown) => e instanceof ConnectionError && /access denied/.test(e.message),
    );
  } finally {
    process.env.AWS_SECRET_ACCESS_KEY = saved;
    await r.close();
  }
});

test('minio: an unreachable endpoint is a ConnectionError saying unreachable', async () => {
  const r = S3Repository.open('s3://b/p?endpoint=http%3A%2F%2F127.0.0.1%3A1');
  try {
    await assert.rejects(
      r.list(''),
      (e: unknown) => e instanceof ConnectionError && /unreachable/.test(e.message),
    );
  } finally {
    await r.close();
  }
});
