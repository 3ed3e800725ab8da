/** Backup ids: `<yyyymmddThhmmssZ>-<8 hex>` (UTC creation time, then 32 random bits). */
import { randomBytes } from 'node:crypto';

export function newBackupId(now: Date, random: () => Buffer = () => randomBytes(4)): string {
  const iso = now.toISOString(); // 2026-11-22T03:22:32.123Z
  const stamp = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return `${stamp}-${random().toString('hex').slice(0, 8)}`;
}

/** The creation time encoded in an id. */
export function timeOfId(id: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-/.exec(id);
  if (!m) throw new Error(`not a backup id: ${id}`);
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}
