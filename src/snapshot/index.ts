/**
 * Snapshot inputs: `openSnapshot(path)` → { db, format, input, warnings, checkTrailer(), close() } and
 * `withSnapshot(path, fn)` (re-reads the metas afterwards, retries once if the file changed). See
 * src/etcd/index.ts for the database API.
 */
export { openSnapshot, withSnapshot, FileChangedError } from './open.js';
export type { DataDirInfo, InputFormat, OpenedSnapshot, OpenOptions, SnapshotInput } from './open.js';
export { checkTrailer, hasChecksumTrailer, type TrailerCheck, type TrailerState } from './trailer.js';
export { createTempFile, type TempFile } from './temp-file.js';
