/**
 * Retention with restic's `forget` semantics, applied per cluster, in UTC:
 * - backups are considered newest first;
 * - `--keep-last N` keeps the N newest;
 * - `--keep-hourly/daily/weekly/monthly/yearly N` each keep the newest backup of each of the N most recent
 *   hours/days/ISO weeks/months/years that have backups (a rule's bucket counts only when that rule kept a
 *   backup in it); -1 means unlimited;
 * - `--keep-within D` keeps every backup not older than D before the newest backup (not before now);
 * - a backup is kept when any rule keeps it.
 * Lifeboat adds one rule: the newest verified backup of each cluster is never removed.
 */
import { UsageError } from '../util/errors.js';

export interface RetentionPolicy {
  last?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
  /** restic-style duration: years, months, days, hours. */
  within?: { years: number; months: number; days: number; hours: number };
}

export interface RetentionItem {
  id: string;
  cluster: string;
  created: Date;
  verified: boolean;
}

export interface RetentionDecision {
  item: RetentionItem;
  keep: boolean;
  reasons: string[];
}

/** restic's duration syntax for --keep-within: e.g. 2y5m7d3h (years, months, days, hours). */
export function parseKeepWithin(text: string): NonNullable<RetentionPolicy['within']> {
  const m = /^(?:(\d+)y)?(?:(\d+)m)?(?:(\d+)d)?(?:(\d+)h)?$/.exec(text.trim());
  if (!m || text.trim() === '') {
    throw new UsageError(`--keep-within: expected a duration like 7d, 12h or 1y2m3d4h, found '${text}'`);
  }
  return { years: +(m[1] ?? 0), months: +(m[2] ?? 0), days: +(m[3] ?? 0), hours: +(m[4] ?? 0) };
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** ISO 8601 week-numbering year and week of a UTC date. */
export function isoWeek(d: Date): { year: number; week: number } {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((t.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return { year: t.getUTCFullYear(), week };
}

const BUCKETS: { rule: keyof RetentionPolicy; name: string; key: (d: Date) => string }[] = [
  {
    rule: 'hourly',
    name: 'hourly',
    key: (d) =>
      `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}`,
  },
  {
    rule: 'daily',
    name: 'daily',
    key: (d) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`,
  },
  {
    rule: 'weekly',
    name: 'weekly',
    key: (d) => {
      const w = isoWeek(d);
      return `${w.year}-W${pad(w.week)}`;
    },
  },
  { rule: 'monthly', name: 'monthly', key: (d) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}` },
  { rule: 'yearly', name: 'yearly', key: (d) => `${d.getUTCFullYear()}` },
];

export function policyIsEmpty(p: RetentionPolicy): boolean {
  return (
    p.last === undefined &&
    p.hourly === undefined &&
    p.daily === undefined &&
    p.weekly === undefined &&
    p.monthly === undefined &&
    p.yearly === undefined &&
    p.within === undefined
  );
}

function subtract(d: Date, w: NonNullable<RetentionPolicy['within']>): Date {
  const t = new Date(d.getTime());
  t.setUTCFullYear(t.getUTCFullYear() - w.years, t.getUTCMonth() - w.months, t.getUTCDate() - w.days);
  t.setUTCHours(t.getUTCHours() - w.hours);
  return t;
}

/** Decides, per cluster, which backups to keep. Items may come in any order; decisions are newest first. */
export function applyRetention(items: RetentionItem[], policy: RetentionPolicy): RetentionDecision[] {
  if (policyIsEmpty(policy)) {
    throw new UsageError(
      'prune: no retention rule given (use --keep-last, --keep-daily, --keep-within, ...)',
    );
  }
  const byCluster = new Map<string, RetentionItem[]>();
  for (const it of items) {
    const list = byCluster.get(it.cluster) ?? [];
    list.push(it);
    byCluster.set(it.cluster, list);
  }
  const out: RetentionDecision[] = [];
  for (const [, list] of [...byCluster.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    list.sort((a, b) => b.created.getTime() - a.created.getTime() || (a.id < b.id ? 1 : -1));
    const counters = new Map<string, number>();
    const last = new Map<string, string>();
    for (const b of BUCKETS) {
      const n = policy[b.rule] as number | undefined;
      if (n !== undefined) counters.set(b.name, n);
    }
    let lastLeft = policy.last;
    const newest = list[0]!.created;
    const withinFrom = policy.within ? subtract(newest, policy.within) : undefined;
    const newestVerified = list.find((i) => i.verified);
    for (const it of list) {
      const reasons: string[] = [];
      if (lastLeft !== undefined && (lastLeft > 0 || lastLeft === -1)) {
        reasons.push('last');
        if (lastLeft > 0) lastLeft--;
      }
      for (const b of BUCKETS) {
        const left = counters.get(b.name);
        if (left === undefined || left === 0) continue;
        const k = b.key(it.created);
        if (last.get(b.name) !== k) {
          last.set(b.name, k);
          reasons.push(`${b.name} ${k}`);
          if (left > 0) counters.set(b.name, left - 1);
        }
      }
      if (withinFrom && it.created.getTime() >= withinFrom.getTime()) reasons.push('within');
      if (it === newestVerified) reasons.push('newest verified');
      out.push({ item: it, keep: reasons.length > 0, reasons });
    }
  }
  return out;
}
