/**
 * resource.Quantity the way k8s.io/apimachinery prints it after parsing: `String(ParseQuantity(s))`.
 *
 * ParseQuantity keeps the input text when it is already "canonical enough" (an integer mantissa without
 * trailing 000 and a decimal exponent that is a multiple of 3, or a binary suffix on a value that is not a
 * multiple of 8); otherwise it rounds the value up to a multiple of 10^-9, caps BinarySI values at 2^63-1 and String()
 * prints the canonical form: the mantissa with its factors of 10 (or 1024) moved into an SI suffix (n u m
 * "" k M G T P E, Ki … Ei) or an `e<exp>` exponent, keeping the input's format (DecimalSI, BinarySI,
 * DecimalExponent). BinarySI values below 1024 or with a fraction print as DecimalSI.
 *
 * kube-apiserver applies this on every read (both the protobuf and the JSON Unmarshal of Quantity call
 * ParseQuantity). Everything kube-apiserver itself wrote is already a fixed point of it — it stores
 * String() of a parsed quantity, and String(ParseQuantity(String(q))) == String(q) — so Lifeboat prints
 * protobuf quantities as stored and applies it only to JSON-stored built-in objects, whose text may come from
 * elsewhere (see docs/kubernetes-objects.md). Quantities in core/v1 ResourceLists are also rounded up to
 * milli-units on every decode (SetDefaults_ResourceList): `roundUpMilli`.
 */

type Format = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

const DEC_SUFFIX: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const BIN_SUFFIX: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DEC_BY_EXP = new Map(Object.entries(DEC_SUFFIX).map(([k, v]) => [v, k]));
const BIN_BY_EXP = new Map(Object.entries(BIN_SUFFIX).map(([k, v]) => [v, k]));

const MAX_INT64 = 2n ** 63n - 1n;
const pow10 = (n: number): bigint => 10n ** BigInt(n);

interface Parts {
  positive: boolean;
  num: string;
  denom: string;
  suffix: string;
}

/** apimachinery's parseQuantityString. */
function split(str: string): Parts | undefined {
  const m = /^([+-]?)0*([0-9]*)(?:\.([0-9]*))?([eEinumkKMGTP]*[-+]?[0-9]*)$/.exec(str);
  if (!m || str === '') return undefined;
  return { positive: m[1] !== '-', num: m[2] || '0', denom: m[3] ?? '', suffix: m[4]! };
}

function interpret(suffix: string): { base: 2 | 10; exponent: number; format: Format } | undefined {
  if (suffix in DEC_SUFFIX) return { base: 10, exponent: DEC_SUFFIX[suffix]!, format: 'DecimalSI' };
  if (suffix in BIN_SUFFIX) return { base: 2, exponent: BIN_SUFFIX[suffix]!, format: 'BinarySI' };
  if (
    suffix.length > 1 &&
    (suffix[0] === 'e' || suffix[0] === 'E') &&
    /^[+-]?[0-9]+$/.test(suffix.slice(1))
  ) {
    const e = Number(suffix.slice(1));
    if (Number.isSafeInteger(e) && Math.abs(e) < 2 ** 31)
      return { base: 10, exponent: e, format: 'DecimalExponent' };
  }
  return undefined;
}

/** Removes factors of `base` from `v` (|v| must be ≥ base to lose one), as removeInt64Factors does. */
function removeFactors(v: bigint, base: bigint): { v: bigint; times: number } {
  let a = v < 0n ? -v : v;
  let times = 0;
  while (a >= base && a % base === 0n) {
    a /= base;
    times++;
  }
  return { v: v < 0n ? -a : a, times };
}

/**
 * Go's `resource.MustParse(s).String()`; undefined when apimachinery would reject the text (the caller then
 * leaves it as it is).
 */
export function canonicalQuantity(str: string, opts: { roundUpMilli?: boolean } = {}): string | undefined {
  const p = split(str);
  if (!p) return undefined;
  const s = interpret(p.suffix);
  if (!s) return undefined;
  // The fast path keeps the original text when it is already in a canonical-looking form.
  let precision: number;
  let scale: number;
  let mantissa = 1n;
  if (s.format === 'BinarySI') {
    scale = 0;
    if (s.exponent >= 0 && p.denom.length === 0) {
      mantissa = 1n << BigInt(s.exponent);
      precision =
        15 - p.num.length - Math.trunc(Math.fround(Math.fround(Math.fround(s.exponent) * 3) / 10)) - 1;
    } else precision = -1;
  } else {
    scale = s.exponent;
    precision = 18 - (p.num.length + p.denom.length);
  }
  let fastScale: number | undefined;
  let cached = false;
  if (precision >= 0) {
    scale -= p.denom.length;
    if (scale >= -9) {
      const shifted = p.num + p.denom;
      const value = BigInt(shifted);
      if (value <= MAX_INT64 && value * mantissa <= MAX_INT64) {
        fastScale = scale;
        if (s.format === 'BinarySI') cached = s.exponent % 10 === 0 && (value & 7n) !== 0n;
        else cached = scale % 3 === 0 && !shifted.endsWith('000') && shifted[0] !== '0';
      }
    }
  }
  // Quantity.RoundUp(-3) (core/v1 SetDefaults_ResourceList) keeps an int64 amount already at scale >= -3,
  // text included; anything else is rounded up to a multiple of 10^-3 and printed afresh.
  const roundMilli = !!opts.roundUpMilli && !(fastScale !== undefined && fastScale >= -3);
  if (cached && !roundMilli) return str;
  // value = sign · unscaled · 10^-sc
  let unscaled = BigInt(p.num + p.denom);
  let sc = p.denom.length;
  if (s.base === 10) sc -= s.exponent;
  else unscaled *= 1n << BigInt(s.exponent);
  // Round away from zero to a multiple of 10^-9 (non-zero amounts never become zero), then cap.
  if (unscaled !== 0n && sc > 9) {
    const d = pow10(sc - 9);
    unscaled = (unscaled + d - 1n) / d;
    sc = 9;
  }
  // Only BinarySI amounts are capped (at 2^63-1).
  if (
    s.format === 'BinarySI' &&
    (sc <= 0 ? unscaled * pow10(-sc) > MAX_INT64 : unscaled > MAX_INT64 * pow10(sc))
  ) {
    unscaled = MAX_INT64;
    sc = 0;
  }
  if (roundMilli && unscaled !== 0n && sc > 3) {
    const d = pow10(sc - 3);
    unscaled = (unscaled + d - 1n) / d;
    sc = 3;
  }
  let format = s.format;
  if (format === 'BinarySI' && unscaled > 0n && (sc <= 0 ? false : unscaled < pow10(sc)))
    format = 'DecimalSI';
  if (unscaled === 0n) return '0';
  const signed = p.positive ? unscaled : -unscaled;
  if (format === 'BinarySI') {
    const integral = sc <= 0 || unscaled % pow10(sc) === 0n;
    const abs = sc <= 0 ? unscaled * pow10(-sc) : unscaled / pow10(sc);
    if (abs < 1024n || !integral) format = 'DecimalSI';
    else {
      const r = removeFactors(p.positive ? abs : -abs, 1024n);
      return `${r.v}${BIN_BY_EXP.get(r.times * 10) ?? ''}`;
    }
  }
  const r = removeFactors(signed, 10n);
  let amount = r.v;
  let exponent = -sc + r.times;
  while (exponent % 3 !== 0) {
    amount *= 10n;
    exponent--;
  }
  if (format === 'DecimalExponent') return `${amount}${exponent === 0 ? '' : `e${exponent}`}`;
  return `${amount}${DEC_BY_EXP.get(exponent) ?? ''}`;
}
