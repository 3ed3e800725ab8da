/** Opens a repository from its `--repo` value: `file:///path`, a plain path, or `s3://bucket/prefix?...`. */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../util/errors.js';
import { FileRepository } from './file.js';
import type { Repository } from './repository.js';
import { S3Repository } from './s3.js';

export async function openRepository(repo: string | undefined): Promise<Repository> {
  if (!repo) throw new UsageError('--repo is required (a directory, file:///path or s3://bucket/prefix)');
  if (repo.startsWith('s3://')) return S3Repository.open(repo);
  if (repo.startsWith('file://')) return FileRepository.open(fileURLToPath(repo));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(repo)) {
    throw new UsageError(`--repo: expected a directory, file:///path or s3://bucket/prefix, found '${repo}'`);
  }
  return FileRepository.open(resolve(repo));
}
