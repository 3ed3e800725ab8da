/**
 * etcd's write-ahead log (server/storage/wal): files `<seq>-<index>.wal` in member/wal, each a sequence of
 * frames: an 8-byte little-endian length word (low 56 bits = record length; when bit 63 is set, bits
 * 56..58 give the padding after the record), then a walpb.Record {type = 1 int64, crc = 2 uint32, data = 3
 * bytes}. Entry records (type 2) hold a raftpb.Entry {Type = 1, Term = 2, Index = 3, Data = 4}. A zero
 * length word ends the file (preallocated space). Only what Lifeboat needs: the last entry index.
 */
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { readSmallVarint, readVarint, skipField, WireType } from './proto-wire.js';

const ENTRY_TYPE = 2n;
const MAX_RECORD = 64 << 20;

export interface WalInfo {
  files: string[];
  /** Index of the last raft entry written to the WAL, or undefined when there is none. */
  lastIndex: bigint | undefined;
  /** True when a file ended in a torn or unreadable frame (normal for a crashed member's last file). */
  torn: boolean;
}

function entryIndex(data: Buffer): bigint | undefined {
  let pos = 0;
  while (pos < data.length) {
    const [tag, p] = readSmallVarint(data, pos);
    pos = p;
    if (tag >>> 3 === 3 && (tag & 7) === WireType.varint) return readVarint(data, pos)[0];
    pos = skipField(data, pos, tag & 7);
  }
  return undefined;
}

function recordEntryIndex(rec: Buffer): bigint | undefined {
  let pos = 0;
  let type = 0n;
  let data: Buffer | undefined;
  while (pos < rec.length) {
    const [tag, p] = readSmallVarint(rec, pos);
    pos = p;
    const f = tag >>> 3;
    const wt = tag & 7;
    if (f === 1 && wt === WireType.varint) [type, pos] = readVarint(rec, pos);
    else if (f === 3 && wt === WireType.len) {
      const [n, q] = readSmallVarint(rec, pos);
      data = rec.subarray(q, q + n);
      pos = q + n;
    } else pos = skipField(rec, pos, wt);
  }
  return type === ENTRY_TYPE && data ? entryIndex(data) : undefined;
}

export function readWalInfo(walDir: string): WalInfo {
  const files = readdirSync(walDir)
    .filter((f) => f.endsWith('.wal'))
    .sort();
  let lastIndex: bigint | undefined;
  let torn = false;
  for (const f of files) {
    const fd = openSync(join(walDir, f), 'r');
    try {
      let off = 0;
      const lenBuf = Buffer.alloc(8);
      for (;;) {
        if (readSync(fd, lenBuf, 0, 8, off) < 8) break;
        const word = lenBuf.readBigUInt64LE(0);
        const len = Number(word & 0x00ffffffffffffffn);
        const pad = word >> 63n === 1n ? Number((word >> 56n) & 7n) : 0;
        if (len === 0) break;
        if (len > MAX_RECORD) {
          torn = true;
          break;
        }
        const rec = Buffer.alloc(len);
        if (readSync(fd, rec, 0, len, off + 8) < len) {
          torn = true;
          break;
        }
        try {
          const idx = recordEntryIndex(rec);
          if (idx !== undefined) lastIndex = idx;
        } catch {
          torn = true;
          break;
        }
        off += 8 + len + pad;
      }
    } finally {
      closeSync(fd);
    }
  }
  return { files, lastIndex, torn };
}
