/** Opens a repository from its `--repo` value: `file:///path`, a plain path, or `s3://bucket/prefix?...`. */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../util/errors.js';
import { FileRepository } from './file.js';
import type { Repository } from './repository.js';

/**
 * `create: false` (readers: list, show, download, verify, delete, prune, gc): a directory that does not
 * exist is a NotFoundError (exit 4) instead of a new empty repository. S3 buckets are never created; a
 * missing bucket is a NotFoundError from the first request.
 */
export async function openRepository(
  repo: string | undefined,
  opts: { create?: boolean } = {},
): Promise<Repository> {
  if (!repo) throw new UsageError('--repo is required (a directory, file:///path or s3://bucket/prefix)');
  if (repo.startsWith('s3://')) {
    // Loaded on demand: the AWS SDK costs a few hundred ms of start-up that directory repositories skip.
    const { S3Repository } = await import('./s3.js');
    return S3Repository.open(repo);
  }
  if (repo.startsWith('file://')) return FileRepository.open(fileURLToPath(repo), opts);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(repo)) {
    throw new UsageError(`--repo: expected a directory, file:///path or s3://bucket/prefix, found '${repo}'`);
  }
  return FileRepository.open(resolve(repo), opts);
}
