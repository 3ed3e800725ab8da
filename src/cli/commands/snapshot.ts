/** `lifeboat snapshot status|verify FILE`: offline facts about an etcd database file. Thin over src/etcd. */
import { Option, type Command } from 'commander';
import { entryKeyValueProblems } from '../../etcd/verify.js';
import { withSnapshot, type OpenedSnapshot } from '../../snapshot/index.js';
import { CorruptInputError, UsageError, VerificationError } from '../../util/errors.js';
import { hexId, lifeboatDoc, stringifyJson } from '../../util/json.js';
import { warn } from '../../util/log.js';
import { out } from './output.js';

type OutFormat = 'json' | 'table';

function outFormat(v: string | undefined): OutFormat {
  const f = v ?? 'table';
  if (f !== 'json' && f !== 'table') throw new UsageError(`-o/--output: expected json or table, got '${f}'`);
  return f;
}

function table(rows: [string, string][]): string {
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n';
}

export async function statusDocument(snap: OpenedSnapshot, withTrailer: boolean) {
  // The SHA-256 of the whole file runs in a worker thread while this thread walks the database.
  const trailerP = withTrailer ? snap.checkTrailerAsync() : undefined;
  trailerP?.catch(() => undefined);
  const st = snap.db.status();
  if (!st.structure.ok) {
    const n = st.structure.problems.length + st.structure.moreProblems;
    const p = st.structure.problems[0]!;
    throw new CorruptInputError(
      snap.input.path,
      `snapshot file integrity check failed: ${n} problem(s); first: ${p.page !== undefined ? `page ${p.page}: ` : ''}${p.problem} (run 'lifeboat snapshot verify' for all)`,
    );
  }
  const s = st.summary;
  const trailer = trailerP ? await trailerP : undefined;
  return lifeboatDoc('SnapshotStatus', {
    file: snap.input.path,
    format: snap.format,
    ...(snap.input.innerFormat ? { innerFormat: snap.input.innerFormat } : {}),
    hash: st.hash,
    revision: st.revision,
    totalKey: st.totalKey,
    totalSize: st.totalSize,
    liveKeys: st.liveKeys,
    ...(s.version ? { version: s.version } : {}),
    currentRevision: s.currentRevision,
    compactRevision: s.compactRevision,
    ...(s.meta.consistentIndex !== undefined ? { consistentIndex: s.meta.consistentIndex } : {}),
    ...(s.meta.term !== undefined ? { term: s.meta.term } : {}),
    ...(s.meta.clusterVersion ? { clusterVersion: s.meta.clusterVersion } : {}),
    members: s.members.map((m) => ({
      id: hexId(m.id),
      ...(m.name ? { name: m.name } : {}),
      peerURLs: m.peerURLs,
      clientURLs: m.clientURLs,
      ...(m.isLearner ? { isLearner: true } : {}),
    })),
    pageSize: s.pageSize,
    bytesInUse: st.bytesInUse,
    bytesFree: st.bytesFree,
    sha256Trailer: trailer
      ? {
          present: trailer.state !== 'absent',
          ...(trailer.state !== 'absent' ? { valid: trailer.state === 'valid' } : {}),
        }
      : { present: snap.trailerPresent },
    ...(snap.input.zip ? { zip: snap.input.zip } : {}),
    ...(snap.input.dataDir
      ? {
          dataDir: {
            db: snap.input.dataDir.dbPath,
            ...(snap.input.dataDir.wal?.lastIndex !== undefined
              ? { walLastIndex: snap.input.dataDir.wal.lastIndex }
              : {}),
            entriesOnlyInWal: snap.input.dataDir.entriesOnlyInWal,
          },
        }
      : {}),
  });
}

type StatusDoc = Awaited<ReturnType<typeof statusDocument>>;

function statusTable(d: StatusDoc): string {
  const t = d.sha256Trailer as { present: boolean; valid?: boolean };
  const rows: [string, string][] = [
    ['FILE', d.file],
    ['FORMAT', d.format + (d.innerFormat ? ` (${d.innerFormat})` : '')],
    ['HASH', `${d.hash.toString(16).padStart(8, '0')} (${d.hash})`],
    ['REVISION', String(d.revision)],
    ['TOTAL KEYS', String(d.totalKey)],
    ['TOTAL SIZE', String(d.totalSize)],
    ['LIVE KEYS', String(d.liveKeys)],
    ['VERSION', d.version ?? ''],
    ['CURRENT REVISION', String(d.currentRevision)],
    ['COMPACT REVISION', String(d.compactRevision)],
    ['CONSISTENT INDEX', d.consistentIndex !== undefined ? String(d.consistentIndex) : ''],
    ['TERM', d.term !== undefined ? String(d.term) : ''],
    ['MEMBERS', d.members.map((m) => `${m.id}${m.name ? ` (${m.name})` : ''}`).join(', ')],
    ['BYTES IN USE / FREE', `${d.bytesInUse} / ${d.bytesFree}`],
    [
      'SHA256 TRAILER',
      t.present
        ? t.valid === undefined
          ? 'present (not checked: add --sha256, or run `lifeboat snapshot verify`)'
          : t.valid
            ? 'present, valid'
            : 'present, MISMATCH'
        : 'absent',
    ],
  ];
  if (d.dataDir) {
    const wal = (d.dataDir as { walLastIndex?: bigint }).walLastIndex;
    rows.push(['WAL LAST INDEX', wal !== undefined ? String(wal) : '']);
    rows.push(['ENTRIES ONLY IN WAL', String(d.dataDir.entriesOnlyInWal)]);
  }
  if (d.zip)
    rows.push([
      'ZIP ENTRIES',
      d.zip.entries.map((e) => e.name + (e.database ? ' (database)' : '')).join(', '),
    ]);
  return table(rows);
}

export function define(cmd: Command): void {
  cmd
    .command('status')
    .description(
      'hash, revision, key counts, size, members and more of an etcd snapshot, member db, data dir, zip or gzip',
    )
    .argument('<file>', 'etcd snapshot, member database, data directory, .zip or .gz')
    .option('-o, --output <format>', 'json or table', 'table')
    // Like etcdutl, status does not re-hash the whole file by default (that alone takes longer than the
    // rest of status); --sha256 adds the check on a helper thread, `snapshot verify` always does it.
    .option('--sha256', 'also check the SHA-256 trailer (reads the whole file once more)')
    .addOption(new Option('--no-sha256', 'do not check the SHA-256 trailer (the default)').hideHelp())
    .action(async (file: string, o: { output?: string; sha256?: boolean }) => {
      const f = outFormat(o.output);
      const doc = await withSnapshot(file, (snap) => statusDocument(snap, o.sha256 === true), { warn });
      await out(f === 'json' ? `${stringifyJson(doc)}\n` : statusTable(doc));
    });

  cmd
    .command('verify')
    .description(
      'check the SHA-256 trailer and the full bbolt/etcd structure; exit 0 only when sound, 3 otherwise',
    )
    .argument('<file>', 'etcd snapshot, member database, data directory, .zip or .gz')
    .option('-o, --output <format>', 'json or table', 'table')
    .action(async (file: string, o: { output?: string }) => {
      const f = outFormat(o.output);
      const doc = await withSnapshot(
        file,
        (snap) => {
          const trailer = snap.checkTrailer();
          const structure = snap.db.verifyStructure();
          const problems = structure.problems.map((p) => ({ ...p }));
          if (trailer.state === 'mismatch') {
            problems.unshift({
              problem: `sha256 trailer mismatch: stored ${trailer.stored}, computed ${trailer.computed}`,
            });
          }
          if (structure.ok) problems.push(...entryKeyValueProblems(snap.db, 100));
          return lifeboatDoc('SnapshotVerification', {
            file,
            format: snap.format,
            sound: problems.length === 0 && structure.moreProblems === 0,
            sha256Trailer: trailer.state,
            pages: {
              highWaterMark: structure.highWaterMark,
              inUse: structure.pagesInUse,
              free: structure.pagesFree,
            },
            problems,
            ...(structure.moreProblems ? { moreProblems: structure.moreProblems } : {}),
          });
        },
        { warn },
      );
      if (f === 'json') await out(`${stringifyJson(doc)}\n`);
      else {
        const lines = [
          `${doc.file}: ${doc.sound ? 'sound' : 'NOT sound'} (${doc.format}, sha256 trailer ${doc.sha256Trailer}, ${doc.pages.highWaterMark} pages, ${doc.pages.inUse} in use, ${doc.pages.free} free)`,
          ...doc.problems.map((p) => `  ${p.page !== undefined ? `page ${p.page}: ` : ''}${p.problem}`),
        ];
        if (doc.moreProblems) lines.push(`  ... and ${doc.moreProblems} more`);
        await out(lines.join('\n') + '\n');
      }
      if (!doc.sound) {
        const first = doc.problems[0];
        throw new VerificationError(
          `${file}: verification failed: ${doc.problems.length + (doc.moreProblems ?? 0)} problem(s)${first ? `; first: ${first.page !== undefined ? `page ${first.page}: ` : ''}${first.problem}` : ''}`,
        );
      }
    });
}
