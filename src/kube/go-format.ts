/**
 * Go's own text forms that Kubernetes' JSON uses: time.Time in RFC 3339 (seconds, or microseconds for
 * MicroTime) and time.Duration.String().
 */

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function utcParts(seconds: bigint): { date: Date; ok: boolean } {
  const ms = Number(seconds) * 1000;
  const date = new Date(ms);
  return { date, ok: !Number.isNaN(date.getTime()) };
}

/** `2006-01-02T15:04:05Z` (metav1.Time). */
export function formatRfc3339(seconds: bigint): string {
  const { date, ok } = utcParts(seconds);
  if (!ok) return `${seconds}s`;
  return (
    `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}T` +
    `${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}Z`
  );
}

/** `2006-01-02T15:04:05.000000Z` (metav1.MicroTime); nanos are truncated to microseconds. */
export function formatRfc3339Micro(seconds: bigint, nanos: number): string {
  const base = formatRfc3339(seconds);
  return `${base.slice(0, -1)}.${pad(Math.floor(nanos / 1000), 6)}Z`;
}

/** Go's time.Duration.String() for a number of nanoseconds. */
export function formatGoDuration(ns: bigint): string {
  if (ns === 0n) return '0s';
  const neg = ns < 0n;
  let u = neg ? -ns : ns;
  let out: string;
  if (u < 1_000_000_000n) {
    // Below one second: ns, µs or ms with a fraction.
    let unit: string;
    let prec: number;
    if (u < 1000n) return `${neg ? '-' : ''}${u}ns`;
    if (u < 1_000_000n) {
      unit = 'µs';
      prec = 3;
    } else {
      unit = 'ms';
      prec = 6;
    }
    out = fraction(u, prec) + unit;
  } else {
    const h = u / 3_600_000_000_000n;
    u -= h * 3_600_000_000_000n;
    const m = u / 60_000_000_000n;
    u -= m * 60_000_000_000n;
    const s = fraction(u, 9) + 's';
    if (h > 0n) out = `${h}h${m}m${s}`;
    else if (m > 0n) out = `${m}m${s}`;
    else out = s;
  }
  return (neg ? '-' : '') + out;
}

/** v / 10^prec printed with trailing fractional zeros removed. */
function fraction(v: bigint, prec: number): string {
  const div = 10n ** BigInt(prec);
  const whole = v / div;
  let frac = (v % div).toString().padStart(prec, '0').replace(/0+$/, '');
  if (frac) frac = '.' + frac;
  return `${whole}${frac}`;
}
