/**
 * `lifeboat kv get|history --from FILE`: etcdctl's read commands over a snapshot file, same flags and
 * same output (simple, json, fields) for the same data. Thin over src/etcd's MVCC view.
 */
import type { Command } from 'commander';
import { prefixRangeEnd, type KeyValue, type RangeResult } from '../../etcd/index.js';
import { withSnapshot } from '../../snapshot/index.js';
import { UsageError } from '../../util/errors.js';
import { lifeboatDoc, stringifyJson } from '../../util/json.js';
import { warn } from '../../util/log.js';
import { BufferedOut, out } from './output.js';

type WriteOut = 'simple' | 'json' | 'fields';

/** Keys written per batch by simple keys-only listings. */
const KEY_BATCH = 4096;

function writeOut(o: { writeOut?: string; output?: string }): WriteOut {
  const f = o.writeOut ?? o.output ?? 'simple';
  if (f !== 'simple' && f !== 'json' && f !== 'fields') {
    throw new UsageError(`-w/--write-out: expected simple, json or fields, got '${f}'`);
  }
  return f;
}

function parseRev(v: string | undefined): bigint {
  if (v === undefined) return 0n;
  if (!/^-?\d+$/.test(v)) throw new UsageError(`--rev: expected an integer revision, got '${v}'`);
  return BigInt(v);
}

/** Go's strconv.Quote (what etcdctl's fields printer uses via %q): UTF-8 decoded rune by rune. */
export function goQuote(b: Buffer): string {
  let r = '"';
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      r += quoteByte(c);
      i++;
      continue;
    }
    const [cp, n] = decodeRune(b, i);
    if (cp < 0) {
      r += `\\x${c.toString(16).padStart(2, '0')}`;
      i++;
      continue;
    }
    const ch = String.fromCodePoint(cp);
    if (/[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(ch)) r += ch;
    else if (cp > 0xffff) r += `\\U${cp.toString(16).padStart(8, '0')}`;
    else r += `\\u${cp.toString(16).padStart(4, '0')}`;
    i += n;
  }
  return r + '"';
}

/** One UTF-8 rune at `i`: [code point, length], or [-1, 1] when the bytes are not valid UTF-8. */
function decodeRune(b: Buffer, i: number): [number, number] {
  const c = b[i]!;
  const cont = (k: number) => i + k < b.length && (b[i + k]! & 0xc0) === 0x80;
  if (c >= 0xc2 && c <= 0xdf && cont(1)) return [((c & 0x1f) << 6) | (b[i + 1]! & 0x3f), 2];
  if (c >= 0xe0 && c <= 0xef && cont(1) && cont(2)) {
    const cp = ((c & 0x0f) << 12) | ((b[i + 1]! & 0x3f) << 6) | (b[i + 2]! & 0x3f);
    if (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)) return [-1, 1];
    return [cp, 3];
  }
  if (c >= 0xf0 && c <= 0xf4 && cont(1) && cont(2) && cont(3)) {
    const cp =
      ((c & 0x07) << 18) | ((b[i + 1]! & 0x3f) << 12) | ((b[i + 2]! & 0x3f) << 6) | (b[i + 3]! & 0x3f);
    if (cp < 0x10000 || cp > 0x10ffff) return [-1, 1];
    return [cp, 4];
  }
  return [-1, 1];
}

function quoteByte(c: number): string {
  switch (c) {
    case 0x07:
      return '\\a';
    case 0x08:
      return '\\b';
    case 0x0c:
      return '\\f';
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
    case 0x09:
      return '\\t';
    case 0x0b:
      return '\\v';
    case 0x5c:
      return '\\\\';
    case 0x22:
      return '\\"';
  }
  if (c >= 0x20 && c < 0x7f) return String.fromCharCode(c);
  return `\\x${c.toString(16).padStart(2, '0')}`;
}

/** etcdctl -w json for one KeyValue: gogo-protobuf field names, omitempty, bytes as base64. */
function kvJson(kv: KeyValue): Record<string, unknown> {
  return {
    ...(kv.key.length ? { key: kv.key.toString('base64') } : {}),
    ...(kv.createRevision ? { create_revision: kv.createRevision } : {}),
    ...(kv.modRevision ? { mod_revision: kv.modRevision } : {}),
    ...(kv.version ? { version: kv.version } : {}),
    ...(kv.value && kv.value.length ? { value: kv.value.toString('base64') } : {}),
    ...(kv.lease ? { lease: kv.lease } : {}),
  };
}

interface GetOpts {
  from: string;
  prefix?: boolean;
  fromKey?: boolean;
  rev?: string;
  keysOnly?: boolean;
  countOnly?: boolean;
  printValueOnly?: boolean;
  limit?: string;
  writeOut?: string;
  output?: string;
}

export function define(cmd: Command): void {
  cmd
    .command('get')
    .description(
      "etcdctl get over a snapshot file: a key or range at any retained revision, etcdctl's output",
    )
    .argument('<key>', 'key (or range start)')
    .argument('[range_end]', 'range end (exclusive)')
    .requiredOption('--from <file>', 'etcd snapshot, member database, data directory, .zip or .gz')
    .option('--prefix', 'get keys with matching prefix')
    .option('--from-key', 'get keys that are greater than or equal to the given key using byte compare')
    .option('--rev <revision>', 'specify the kv revision (0 = current)')
    .option('--keys-only', 'get only the keys')
    .option('--count-only', 'get only the count')
    .option('--print-value-only', 'only write values when using the "simple" output format')
    .option('--limit <n>', 'maximum number of results', '0')
    .option('-w, --write-out <format>', 'simple, json or fields (default simple)')
    .option('-o, --output <format>', 'alias of --write-out')
    .action(async (keyArg: string, rangeEndArg: string | undefined, o: GetOpts) => {
      const fmt = writeOut(o);
      if (o.prefix && o.fromKey)
        throw new UsageError('`--prefix` and `--from-key` cannot be set at the same time, choose one');
      if (o.prefix && rangeEndArg !== undefined) {
        throw new UsageError('too many arguments, only accept one argument when `--prefix` is set');
      }
      if (o.fromKey && rangeEndArg !== undefined) {
        throw new UsageError('too many arguments, only accept one argument when `--from-key` is set');
      }
      if (o.countOnly && o.keysOnly)
        throw new UsageError('`--keys-only` and `--count-only` cannot be set at the same time, choose one');
      if (o.countOnly && fmt !== 'fields')
        throw new UsageError('--count-only is only for `--write-out=fields`');
      if (!/^\d+$/.test(o.limit ?? '0'))
        throw new UsageError(`--limit: expected a non-negative integer, got '${o.limit}'`);
      const limit = Number(o.limit ?? '0');
      let key = Buffer.from(keyArg, 'utf8');
      let rangeEnd: Buffer | undefined =
        rangeEndArg !== undefined ? Buffer.from(rangeEndArg, 'utf8') : undefined;
      if (o.prefix) {
        if (key.length === 0) {
          key = Buffer.from([0]);
          rangeEnd = Buffer.from([0]);
        } else rangeEnd = prefixRangeEnd(key);
      }
      if (o.fromKey) {
        if (key.length === 0) key = Buffer.from([0]);
        rangeEnd = Buffer.from([0]);
      }
      if (key.length === 0) throw new UsageError('key is not provided');
      const revision = parseRev(o.rev);
      await withSnapshot(
        o.from,
        async (snap) => {
          const mvcc = snap.db.mvcc;
          const term = snap.db.meta().term;
          const header = { revision: mvcc.currentRevision, ...(term ? { raft_term: term } : {}) };
          const opts = { key, rangeEnd, revision, keysOnly: !!o.keysOnly, countOnly: !!o.countOnly, limit };
          // Streaming path: no limit, not count-only — values are read and written one at a time.
          const stream = !o.countOnly && limit === 0;
          if (fmt === 'simple' && stream && o.keysOnly) {
            // Only keys are printed (each followed by an empty value line): no KeyValue per key. Keys are
            // joined natively a few thousand at a time (one write per batch, not two per key).
            const bo = new BufferedOut();
            const tail = o.printValueOnly ? '\n' : '\n\n';
            const keys = mvcc.liveKeysAt(revision, { key, rangeEnd });
            for (let i = 0; i < keys.length; i += KEY_BATCH) {
              const n = Math.min(KEY_BATCH, keys.length - i);
              const text = o.printValueOnly ? tail.repeat(n) : keys.slice(i, i + n).join(tail) + tail;
              const p = bo.writeLatin1(text);
              if (p) await p;
            }
            await bo.flush();
            return;
          }
          if (fmt === 'simple') {
            // Values are written out before the next one is read (stdout writes are synchronous on Linux,
            // and BufferedOut copies small pieces), so large values can share one buffer.
            const it = stream
              ? mvcc.liveAt(revision, {
                  key,
                  rangeEnd,
                  keysOnly: !!o.keysOnly,
                  transient: process.platform === 'linux',
                })
              : mvcc.range(opts).kvs;
            const bo = new BufferedOut();
            const nl = Buffer.from('\n');
            const empty = Buffer.alloc(0);
            // bo.write returns a promise only when it wrote out: awaiting just those keeps the loop cheap.
            for (const kv of it) {
              let p: Promise<void> | undefined;
              if (!o.printValueOnly) {
                if ((p = bo.write(kv.key))) await p;
                if ((p = bo.write(nl))) await p;
              }
              if ((p = bo.write(kv.value ?? empty))) await p;
              if ((p = bo.write(nl))) await p;
            }
            await bo.flush();
            return;
          }
          let res: RangeResult | undefined;
          let kvs: Iterable<KeyValue>;
          if (stream) {
            mvcc.resolveRevision(revision);
            kvs = mvcc.liveAt(revision, { key, rangeEnd, keysOnly: !!o.keysOnly });
          } else {
            res = mvcc.range(opts);
            kvs = res.kvs;
          }
          if (fmt === 'json') {
            const bo = new BufferedOut();
            await bo.write(`{"header":${stringifyJson(header, 0)}`);
            let n = 0;
            for (const kv of kvs) {
              await bo.write(`${n === 0 ? ',"kvs":[' : ','}${stringifyJson(kvJson(kv), 0)}`);
              n++;
            }
            if (n > 0) await bo.write(']');
            const count = res ? res.count : n;
            if (res?.more) await bo.write(',"more":true');
            await bo.write(count > 0 ? `,"count":${count}}\n` : '}\n');
            await bo.flush();
            return;
          }
          // fields
          await out(
            `"ClusterID" : 0\n"MemberID" : 0\n"Revision" : ${header.revision}\n"RaftTerm" : ${term ?? 0}\n`,
          );
          let n = 0;
          for (const kv of kvs) {
            n++;
            await out(
              `"Key" : ${goQuote(kv.key)}\n"CreateRevision" : ${kv.createRevision}\n"ModRevision" : ${kv.modRevision}\n"Version" : ${kv.version}\n"Value" : ${goQuote(kv.value ?? Buffer.alloc(0))}\n"Lease" : ${kv.lease}\n`,
            );
          }
          await out(`"More" : ${res?.more ? 'true' : 'false'}\n"Count" : ${res ? res.count : n}\n`);
        },
        { warn },
      );
    });

  cmd
    .command('history')
    .description('every retained revision of a key in a snapshot file, deletions included')
    .argument('<key>', 'the key')
    .requiredOption('--from <file>', 'etcd snapshot, member database, data directory, .zip or .gz')
    .option('-w, --write-out <format>', 'simple or json (default simple)')
    .option('-o, --output <format>', 'alias of --write-out')
    .action(async (keyArg: string, o: { from: string; writeOut?: string; output?: string }) => {
      const fmt = o.writeOut ?? o.output ?? 'simple';
      if (fmt !== 'simple' && fmt !== 'json')
        throw new UsageError(`-w/--write-out: expected simple or json, got '${fmt}'`);
      const key = Buffer.from(keyArg, 'utf8');
      await withSnapshot(
        o.from,
        async (snap) => {
          const h = snap.db.mvcc.history(key);
          if (fmt === 'json') {
            const doc = lifeboatDoc('KeyHistory', {
              key: keyArg,
              compactRevision: h.compactRevision,
              revisions: h.revisions.map((r) => ({
                main: r.main,
                sub: r.sub,
                type: r.type,
                create_revision: r.kv.createRevision,
                mod_revision: r.kv.modRevision,
                version: r.kv.version,
                lease: r.kv.lease,
                value: (r.kv.value ?? Buffer.alloc(0)).toString('base64'),
              })),
            });
            await out(`${stringifyJson(doc)}\n`);
            return;
          }
          if (h.revisions.length === 0) {
            warn(`${keyArg}: no retained revisions in ${o.from} (compacted at ${h.compactRevision})`);
          }
          for (const r of h.revisions) {
            await out(
              `${r.main}_${r.sub} ${r.type === 'put' ? 'PUT   ' : 'DELETE'} create=${r.kv.createRevision} mod=${r.kv.modRevision} version=${r.kv.version} lease=${r.kv.lease} value=${goQuote(r.kv.value ?? Buffer.alloc(0))}\n`,
            );
          }
        },
        { warn },
      );
    });
}
