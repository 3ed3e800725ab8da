/**
 * Compressed containers (formats.md §3.2): zip (k3s, RKE2, RKE1; zip64 via yauzl) and gzip
 * (etcd-backup-restore, etcd-manager). The database is decompressed once into a 0600 temp file.
 * In a zip, the snapshot is the entry with the bbolt magic at offset 16; the other entries are listed,
 * and an RKE1 `.rkestate` is pointed out as a source of certificates and encryption keys.
 */
import { createReadStream, createWriteStream, closeSync, openSync, readSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import yauzl from 'yauzl';
import { CorruptInputError } from '../util/errors.js';
import { BOLT_MAGIC } from '../bbolt/index.js';
import { createTempFile, type TempFile } from './temp-file.js';

export interface ZipEntryInfo {
  name: string;
  compressedSize: number;
  uncompressedSize: number;
  /** True for the entry taken as the etcd database. */
  database: boolean;
}

export interface ExtractedContainer {
  temp: TempFile;
  /** The entry name inside the zip, for zip inputs. */
  entryName?: string;
  entries?: ZipEntryInfo[];
  /** Path of an RKE1 `.rkestate` entry inside the zip, when present. */
  rkestate?: string;
}

function hasBoltMagic(head: Buffer): boolean {
  if (head.length < 20) return false;
  return head.readUInt32LE(16) === BOLT_MAGIC || head.readUInt32BE(16) === BOLT_MAGIC;
}

function openZip(path: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true, autoClose: false, strictFileNames: false }, (err, zf) => {
      if (err || !zf)
        reject(new CorruptInputError(path, `not a readable zip archive: ${err?.message ?? 'unknown error'}`));
      else resolve(zf);
    });
  });
}

function listEntries(zf: yauzl.ZipFile): Promise<yauzl.Entry[]> {
  return new Promise((resolve, reject) => {
    const out: yauzl.Entry[] = [];
    zf.on('entry', (e: yauzl.Entry) => {
      out.push(e);
      zf.readEntry();
    });
    zf.on('end', () => resolve(out));
    zf.on('error', reject);
    zf.readEntry();
  });
}

function entryStream(zf: yauzl.ZipFile, e: yauzl.Entry): Promise<Readable> {
  return new Promise((resolve, reject) => {
    zf.openReadStream(e, (err, s) => (err || !s ? reject(err ?? new Error('no stream')) : resolve(s)));
  });
}

async function entryHead(zf: yauzl.ZipFile, e: yauzl.Entry, n: number): Promise<Buffer> {
  const s = await entryStream(zf, e);
  const chunks: Buffer[] = [];
  let got = 0;
  try {
    for await (const c of s) {
      chunks.push(c as Buffer);
      got += (c as Buffer).length;
      if (got >= n) break;
    }
  } finally {
    s.destroy();
  }
  return Buffer.concat(chunks).subarray(0, n);
}

export async function extractZip(path: string): Promise<ExtractedContainer> {
  const zf = await openZip(path);
  try {
    let entries: yauzl.Entry[];
    try {
      entries = await listEntries(zf);
    } catch (err) {
      throw new CorruptInputError(path, `zip archive is unreadable: ${(err as Error).message}`);
    }
    let chosen: yauzl.Entry | undefined;
    for (const e of entries) {
      if (e.fileName.endsWith('/')) continue;
      let head: Buffer;
      try {
        head = await entryHead(zf, e, 20);
      } catch (err) {
        throw new CorruptInputError(path, `zip entry ${e.fileName}: ${(err as Error).message}`);
      }
      if (hasBoltMagic(head)) {
        chosen = e;
        break;
      }
    }
    const infos: ZipEntryInfo[] = entries.map((e) => ({
      name: e.fileName,
      compressedSize: e.compressedSize,
      uncompressedSize: e.uncompressedSize,
      database: e === chosen,
    }));
    if (!chosen) {
      throw new CorruptInputError(
        path,
        `zip archive holds no etcd snapshot: expected an entry with the bbolt magic at offset 16, found ${entries.length} entries (${infos.map((i) => i.name).join(', ') || 'none'})`,
      );
    }
    const temp = createTempFile('db', chosen.uncompressedSize);
    try {
      const s = await entryStream(zf, chosen);
      await pipeline(s, createWriteStream(temp.path, { mode: 0o600 }));
    } catch (err) {
      temp.remove();
      throw new CorruptInputError(path, `zip entry ${chosen.fileName}: ${(err as Error).message}`);
    }
    const rke = entries.find((e) => e.fileName.endsWith('.rkestate'));
    return { temp, entryName: chosen.fileName, entries: infos, ...(rke ? { rkestate: rke.fileName } : {}) };
  } finally {
    zf.close();
  }
}

/** The ISIZE field of a gzip file (uncompressed size mod 2^32), as a space estimate. */
function gzipSizeHint(path: string, size: number): number {
  if (size < 18) return 0;
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(4);
    readSync(fd, b, 0, 4, size - 4);
    return b.readUInt32LE(0);
  } finally {
    closeSync(fd);
  }
}

export async function extractGzip(path: string, size: number): Promise<ExtractedContainer> {
  const temp = createTempFile('db', Math.max(gzipSizeHint(path, size), size));
  try {
    await pipeline(createReadStream(path), createGunzip(), createWriteStream(temp.path, { mode: 0o600 }));
  } catch (err) {
    temp.remove();
    throw new CorruptInputError(path, `gzip stream is corrupt: ${(err as Error).message}`);
  }
  return { temp };
}
