/** restic-style retention, table-driven, with several clusters in one repository and a fake clock. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  applyRetention,
  isoWeek,
  parseKeepWithin,
  type RetentionItem,
  type RetentionPolicy,
} from '../../../src/backup/retention.js';

/** A fake clock: backups every `stepHours` hours going back from `newest`. */
function series(cluster: string, newest: string, count: number, stepHours: number): RetentionItem[] {
  const t0 = Date.parse(newest);
  return Array.from({ length: count }, (_, i) => {
    const created = new Date(t0 - i * stepHours * 3_600_000);
    return { id: `${cluster}-${created.toISOString()}`, cluster, created, verified: true };
  });
}

const kept = (items: RetentionItem[], p: RetentionPolicy) =>
  applyRetention(items, p)
    .filter((d) => d.keep)
    .map((d) => d.item.id)
    .sort();

const cases: { name: string; items: RetentionItem[]; policy: RetentionPolicy; expect: string[] }[] = [
  {
    name: 'keep-last 3 keeps the 3 newest of each cluster',
    items: [...series('a', '2026-03-10T12:00:00Z', 6, 1), ...series('b', '2026-03-10T12:30:00Z', 4, 1)],
    policy: { last: 3 },
    expect: [
      'a-2026-03-10T10:00:00.000Z',
      'a-2026-03-10T11:00:00.000Z',
      'a-2026-03-10T12:00:00.000Z',
      'b-2026-03-10T10:30:00.000Z',
      'b-2026-03-10T11:30:00.000Z',
      'b-2026-03-10T12:30:00.000Z',
    ],
  },
  {
    name: 'keep-daily 3 with 4 backups a day keeps the newest of each of the last 3 days',
    items: series('a', '2026-03-10T18:00:00Z', 16, 6),
    policy: { daily: 3 },
    expect: ['a-2026-03-08T18:00:00.000Z', 'a-2026-03-09T18:00:00.000Z', 'a-2026-03-10T18:00:00.000Z'],
  },
  {
    name: 'keep-hourly 2 plus keep-daily 2 overlap on the newest',
    items: series('a', '2026-03-10T02:30:00Z', 6, 1),
    policy: { hourly: 2, daily: 2 },
    // hourly: 02:30, 01:30; daily: 03-10 → 02:30, 03-09 → 23:30
    expect: ['a-2026-03-09T23:30:00.000Z', 'a-2026-03-10T01:30:00.000Z', 'a-2026-03-10T02:30:00.000Z'],
  },
  {
    name: 'keep-weekly uses ISO weeks (Monday starts a week), in UTC',
    items: [
      { id: 'sun', cluster: 'a', created: new Date('2026-03-08T23:00:00Z'), verified: true },
      { id: 'mon', cluster: 'a', created: new Date('2026-03-09T01:00:00Z'), verified: true },
      { id: 'tue', cluster: 'a', created: new Date('2026-03-10T01:00:00Z'), verified: true },
      { id: 'prev-sat', cluster: 'a', created: new Date('2026-03-07T01:00:00Z'), verified: true },
    ],
    policy: { weekly: 2 },
    expect: ['sun', 'tue'],
  },
  {
    name: 'keep-monthly -1 keeps the newest of every month',
    items: [
      { id: 'jan1', cluster: 'a', created: new Date('2026-01-01T00:00:00Z'), verified: true },
      { id: 'jan31', cluster: 'a', created: new Date('2026-01-31T23:59:59Z'), verified: true },
      { id: 'feb', cluster: 'a', created: new Date('2026-02-14T00:00:00Z'), verified: true },
      { id: 'dec', cluster: 'a', created: new Date('2025-12-31T23:00:00Z'), verified: true },
    ],
    policy: { monthly: -1 },
    expect: ['dec', 'feb', 'jan31'],
  },
  {
    name: 'keep-within 2d counts from the newest backup, not from now',
    items: series('a', '2026-03-10T00:00:00Z', 10, 12),
    policy: { within: parseKeepWithin('2d') },
    expect: [
      'a-2026-03-08T00:00:00.000Z',
      'a-2026-03-08T12:00:00.000Z',
      'a-2026-03-09T00:00:00.000Z',
      'a-2026-03-09T12:00:00.000Z',
      'a-2026-03-10T00:00:00.000Z',
    ],
  },
  {
    name: 'the newest verified backup is never removed, even by keep-last 0-like policies',
    items: [
      { id: 'new-unverified', cluster: 'a', created: new Date('2026-03-10T00:00:00Z'), verified: false },
      { id: 'old-verified', cluster: 'a', created: new Date('2026-03-01T00:00:00Z'), verified: true },
      { id: 'older', cluster: 'a', created: new Date('2026-02-01T00:00:00Z'), verified: true },
    ],
    policy: { last: 1 },
    expect: ['new-unverified', 'old-verified'],
  },
  {
    name: 'clusters never count against each other',
    items: [...series('a', '2026-03-10T00:00:00Z', 3, 24), ...series('b', '2026-01-10T00:00:00Z', 3, 24)],
    policy: { daily: 1 },
    expect: ['a-2026-03-10T00:00:00.000Z', 'b-2026-01-10T00:00:00.000Z'],
  },
];

for (const c of cases) {
  test(c.name, () => {
    assert.deepEqual(kept(c.items, c.policy), [...c.expect].sort());
  });
}

test('reasons name the rule and bucket', () => {
  const d = applyRetention(series('a', '2026-03-10T05:00:00Z', 2, 1), { hourly: 1 });
  assert.deepEqual(d[0]!.reasons, ['hourly 2026-03-10T05', 'newest verified']);
  assert.equal(d[1]!.keep, false);
});

test('an empty policy and a bad --keep-within are usage errors', () => {
  assert.throws(() => applyRetention([], {}), /no retention rule/);
  assert.throws(() => parseKeepWithin('3 days'), /expected a duration/);
  assert.deepEqual(parseKeepWithin('1y2m3d4h'), { years: 1, months: 2, days: 3, hours: 4 });
});

test('ISO week numbers at year boundaries', () => {
  assert.deepEqual(isoWeek(new Date('2027-01-01T00:00:00Z')), { year: 2026, week: 53 });
  assert.deepEqual(isoWeek(new Date('2025-12-29T00:00:00Z')), { year: 2026, week: 1 });
});
