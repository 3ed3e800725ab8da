/**
 * Opening any etcd database input, detected by content (formats.md §3, §10): an `etcdctl snapshot save`
 * file (SHA-256 trailer), a raw member database (no trailer), a data directory (member/snap/db, with the
 * WAL's last index compared to the consistent index), a zip (k3s, RKE1, RKE2; zip64) or gzip container
 * (decompressed once into a 0600 temp file that is removed on close, exit and signals).
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EtcdDb } from '../etcd/db.js';
import { readWalInfo, type WalInfo } from '../etcd/wal.js';
import { CorruptInputError, NotFoundError } from '../util/errors.js';
// container.js (yauzl, zlib) is loaded only for zip and gzip inputs: it is not needed on the common path.
import type { ZipEntryInfo } from './container.js';
import type { TempFile } from './temp-file.js';
import { checkTrailer, checkTrailerInWorker, hasChecksumTrailer, type TrailerCheck } from './trailer.js';

export type InputFormat = 'etcdctl-snapshot' | 'member-db' | 'data-dir' | 'zip' | 'gzip';

export interface DataDirInfo {
  dir: string;
  dbPath: string;
  walDir: string | undefined;
  wal: WalInfo | undefined;
  consistentIndex: bigint | undefined;
  /** lastIndex(WAL) − consistent index, when positive. */
  entriesOnlyInWal: bigint;
}

export interface SnapshotInput {
  /** The path the user gave. */
  path: string;
  format: InputFormat;
  /** The bbolt file actually read (a temp file for zip/gzip). */
  dbPath: string;
  dbFileSize: number;
  /** For zip/gzip: whether the inner file had an etcdctl trailer. */
  innerFormat?: 'etcdctl-snapshot' | 'member-db';
  zip?: { entryName: string; entries: ZipEntryInfo[]; rkestate?: string };
  dataDir?: DataDirInfo;
}

export interface OpenedSnapshot {
  db: EtcdDb;
  format: InputFormat;
  input: SnapshotInput;
  /** Human-readable warnings (print them on stderr). */
  warnings: string[];
  /** Whether the bbolt file carries a SHA-256 trailer (by size). */
  trailerPresent: boolean;
  /** Reads the whole file once to check the trailer. */
  checkTrailer(): TrailerCheck;
  /** The same in a worker thread: start it, do other work, await it. */
  checkTrailerAsync(): Promise<TrailerCheck>;
  /** Throws FileChangedError when the meta pages moved since opening (a writer is active). */
  checkUnchanged(): void;
  close(): void;
}

export interface OpenOptions {
  cacheBytes?: number;
}

export class FileChangedError extends CorruptInputError {
  constructor(file: string, before: bigint, after: bigint) {
    super(
      file,
      `file changed while reading (meta txid moved from ${before} to ${after}); is etcd writing it right now?`,
    );
  }
}

function readHead(path: string, n: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(n);
    const got = readSync(fd, b, 0, n, 0);
    return b.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

function findDataDirDb(dir: string): { dbPath: string; walDir: string | undefined } {
  for (const member of [join(dir, 'member'), dir]) {
    const db = join(member, 'snap', 'db');
    if (existsSync(db)) {
      const wal = join(member, 'wal');
      return { dbPath: db, walDir: existsSync(wal) ? wal : undefined };
    }
  }
  throw new NotFoundError(`etcd database (member/snap/db)`, `directory ${dir}`);
}

/** Opens any supported input. The caller must call `close()` (temp files are removed then). */
export async function openSnapshot(path: string, options: OpenOptions = {}): Promise<OpenedSnapshot> {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new NotFoundError(`file ${path}`);
  }
  const warnings: string[] = [];
  let temp: TempFile | undefined;
  let input: SnapshotInput;
  if (st.isDirectory()) {
    const { dbPath, walDir } = findDataDirDb(path);
    input = {
      path,
      format: 'data-dir',
      dbPath,
      dbFileSize: statSync(dbPath).size,
      dataDir: {
        dir: path,
        dbPath,
        walDir,
        wal: undefined,
        consistentIndex: undefined,
        entriesOnlyInWal: 0n,
      },
    };
  } else {
    if (st.size === 0) throw new CorruptInputError(path, 'empty file: expected an etcd snapshot');
    const head = readHead(path, 20);
    if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5)) {
      const { extractZip } = await import('./container.js');
      const x = await extractZip(path);
      temp = x.temp;
      input = {
        path,
        format: 'zip',
        dbPath: x.temp.path,
        dbFileSize: statSync(x.temp.path).size,
        zip: {
          entryName: x.entryName!,
          entries: x.entries!,
          ...(x.rkestate ? { rkestate: x.rkestate } : {}),
        },
      };
      if (x.rkestate) {
        warnings.push(
          `${path}: zip entry ${x.rkestate} is an RKE1 cluster state file: it holds the cluster's certificates and encryption configuration`,
        );
      }
    } else if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
      const { extractGzip } = await import('./container.js');
      const x = await extractGzip(path, st.size);
      temp = x.temp;
      input = { path, format: 'gzip', dbPath: x.temp.path, dbFileSize: statSync(x.temp.path).size };
    } else {
      input = {
        path,
        format: hasChecksumTrailer(st.size) ? 'etcdctl-snapshot' : 'member-db',
        dbPath: path,
        dbFileSize: st.size,
      };
    }
    if (input.format === 'zip' || input.format === 'gzip') {
      input.innerFormat = hasChecksumTrailer(input.dbFileSize) ? 'etcdctl-snapshot' : 'member-db';
    }
  }
  let db: EtcdDb;
  try {
    db = EtcdDb.open(input.dbPath, options.cacheBytes ? { cacheBytes: options.cacheBytes } : {});
  } catch (err) {
    temp?.remove();
    if (err instanceof CorruptInputError && input.dbPath !== path) {
      throw new CorruptInputError(path, `${err.where ? `${err.where}: ` : ''}${err.problem}`, input.format);
    }
    throw err;
  }
  if (input.dataDir) {
    const dd = input.dataDir;
    dd.consistentIndex = db.meta().consistentIndex;
    if (dd.walDir) {
      try {
        dd.wal = readWalInfo(dd.walDir);
      } catch (err) {
        warnings.push(`${dd.walDir}: WAL unreadable: ${(err as Error).message}`);
      }
    }
    const last = dd.wal?.lastIndex;
    if (last !== undefined && dd.consistentIndex !== undefined && last > dd.consistentIndex) {
      dd.entriesOnlyInWal = last - dd.consistentIndex;
      warnings.push(
        `${path}: ${dd.entriesOnlyInWal} entries only in the WAL (consistent index ${dd.consistentIndex}, last WAL index ${last}): the database lacks them`,
      );
    }
  }
  const startTxid = db.bolt.meta.txid;
  const trailerPresent = hasChecksumTrailer(input.dbFileSize);
  return {
    db,
    format: input.format,
    input,
    warnings,
    trailerPresent,
    checkTrailer: () => checkTrailer(input.dbPath, input.dbFileSize),
    checkTrailerAsync: () => checkTrailerInWorker(input.dbPath, input.dbFileSize),
    checkUnchanged: () => {
      const now = db.bolt.rereadMetas();
      const cur = [now.meta0, now.meta1].reduce<bigint>((m, x) => (x && x.txid > m ? x.txid : m), -1n);
      if (cur !== startTxid && cur !== -1n) throw new FileChangedError(path, startTxid, cur);
    },
    close: () => {
      db.close();
      temp?.remove();
    },
  };
}

/**
 * Opens `path`, runs `fn`, then re-reads both meta pages; if the txid moved (etcd is writing the file),
 * warns and runs once more; if it moved again, fails with "file changed while reading".
 */
export async function withSnapshot<T>(
  path: string,
  fn: (snap: OpenedSnapshot) => T | Promise<T>,
  options: OpenOptions & { warn?: (line: string) => void } = {},
): Promise<T> {
  const warn = options.warn ?? ((l: string) => process.stderr.write(`lifeboat: warning: ${l}\n`));
  for (let attempt = 0; ; attempt++) {
    const snap = await openSnapshot(path, options);
    try {
      if (attempt === 0) for (const w of snap.warnings) warn(w);
      const result = await fn(snap);
      snap.checkUnchanged();
      return result;
    } catch (err) {
      if (err instanceof FileChangedError && attempt === 0) {
        warn(`${path}: the file changed while it was read (etcd is writing it?); reading it again`);
        continue;
      }
      throw err;
    } finally {
      snap.close();
    }
  }
}
