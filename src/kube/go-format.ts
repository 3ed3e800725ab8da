/**
 * Go's own text forms that Kubernetes' JSON uses: time.Time in RFC 3339 (seconds, or microseconds for
 * MicroTime) and time.Duration.String().
 */

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** Seconds since 1970 of 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the years printed with four digits. */
const YEAR0 = -62167219200;
const YEAR9999 = 253402300799;

const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));

let lastSeconds = NaN;
let lastText = '';

/** `2006-01-02T15:04:05Z` (metav1.Time). */
export function formatRfc3339(seconds: number | bigint): string {
  if (typeof seconds === 'number' && seconds >= YEAR0 && seconds <= YEAR9999) {
    if (seconds === lastSeconds) return lastText;
    // Days → civil date in the proleptic Gregorian calendar (400-year eras of 146097 days from 0000-03-01).
    const days = Math.floor(seconds / 86400);
    let rest = seconds - days * 86400;
    const z = days + 719468;
    const era = Math.floor(z / 146097);
    const doe = z - era * 146097;
    const yoe = Math.floor(
      (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
    );
    const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
    const mp = Math.floor((5 * doy + 2) / 153);
    const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
    const month = mp < 10 ? mp + 3 : mp - 9;
    const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
    const h = Math.floor(rest / 3600);
    rest -= h * 3600;
    const m = Math.floor(rest / 60);
    const s = rest - m * 60;
    lastText =
      `${TWO_DIGITS[Math.floor(year / 100)]}${TWO_DIGITS[year % 100]}-${TWO_DIGITS[month]}-${TWO_DIGITS[day]}` +
      `T${TWO_DIGITS[h]}:${TWO_DIGITS[m]}:${TWO_DIGITS[s]}Z`;
    lastSeconds = seconds;
    return lastText;
  }
  const date = new Date(Number(seconds) * 1000);
  if (Number.isNaN(date.getTime())) return `${seconds}s`;
  return (
    `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}T` +
    `${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}Z`
  );
}

/** `2006-01-02T15:04:05.000000Z` (metav1.MicroTime); nanos are truncated to microseconds. */
export function formatRfc3339Micro(seconds: number | bigint, nanos: number): string {
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
