/**
 * YAML exactly as `kubectl get -o yaml` prints it. kubectl marshals with sigs.k8s.io/yaml: the object's JSON
 * is read back by go-yaml v2 and emitted by its libyaml port, so the output follows go-yaml v2's rules:
 * - map keys in go-yaml's order (letters after other characters, runs of digits compared as numbers);
 * - 2-space indentation, sequences not indented under their key, `{}` / `[]` for empty collections;
 * - a string is plain unless it would read back as something else under YAML 1.1 (true/yes/on/y/null/~,
 *   ints in any base such as 0755 or 0x1f, floats such as 1.0 or 1e3, timestamps, sexagesimal numbers): then
 *   double-quoted; a string libyaml cannot write plain (leading/trailing space, `: `, ` #`, a leading
 *   indicator such as `*` or `- `) is single-quoted; strings with a newline are literal blocks (`|`, `|-`,
 *   `|+`, with an indentation hint when they start with a space) unless a line ends in a space or a
 *   character needs escaping, then double-quoted with escapes;
 * - plain and quoted values are folded at the first space after column 80, continuation lines indented by 2;
 * - floats in Go's shortest 'g' form (1e+06), integers as digits.
 */
import type { JsonValue } from './render-proto.js';

const BEST_WIDTH = 80;

// ---------------------------------------------------------------------------------------------- key order

function isLetter(c: string): boolean {
  return /\p{L}/u.test(c);
}
function isDigit(c: string | undefined): boolean {
  return c !== undefined && /\p{Nd}/u.test(c);
}
function digitValue(c: string): number {
  return c.charCodeAt(0) - 48;
}

/** go-yaml v2's keyList.Less for two string keys (sorter.go). */
export function goYamlKeyLess(a: string, b: string): boolean {
  const ar = [...a];
  const br = [...b];
  for (let i = 0; i < ar.length && i < br.length; i++) {
    if (ar[i] === br[i]) continue;
    const al = isLetter(ar[i]!);
    const bl = isLetter(br[i]!);
    if (al && bl) return ar[i]!.codePointAt(0)! < br[i]!.codePointAt(0)!;
    if (al || bl) return bl;
    let an = 0n;
    let bn = 0n;
    if (ar[i] === '0' || br[i] === '0') {
      for (let j = i - 1; j >= 0 && isDigit(ar[j]); j--) {
        if (ar[j] !== '0') {
          an = 1n;
          bn = 1n;
          break;
        }
      }
    }
    let ai = i;
    for (; ai < ar.length && isDigit(ar[ai]); ai++) an = an * 10n + BigInt(digitValue(ar[ai]!));
    let bi = i;
    for (; bi < br.length && isDigit(br[bi]); bi++) bn = bn * 10n + BigInt(digitValue(br[bi]!));
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return ar[i]!.codePointAt(0)! < br[i]!.codePointAt(0)!;
  }
  return ar.length < br.length;
}

export function goYamlKeyCompare(a: string, b: string): number {
  if (goYamlKeyLess(a, b)) return -1;
  if (goYamlKeyLess(b, a)) return 1;
  return 0;
}

// ------------------------------------------------------------------------------------ resolution (YAML 1.1)

const RESOLVE_MAP = new Set([
  'y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON',
  'n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF',
  '', '~', 'null', 'Null', 'NULL',
  '.nan', '.NaN', '.NAN', '.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF', '-.inf', '-.Inf', '-.INF',
  '<<',
]); // prettier-ignore

const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const BASE60_FLOAT = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;

function daysIn(month: number, year: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** go-yaml v2's parseTimestamp: the layouts 2006-1-2T15:4:5.999999999Z07:00 (also t), "2006-1-2 15:4:5.999999999", 2006-1-2. */
function isTimestamp(s: string): boolean {
  const m =
    /^(\d{4})-(\d{1,2})-(\d{1,2})(?:(?:[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(?:[.,]\d+)?(?:Z|[+-](\d{2}):(\d{2})))|(?: (\d{1,2}):(\d{1,2}):(\d{1,2})(?:[.,]\d+)?))?$/.exec(
      s,
    );
  if (!m) return false;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1 || day > daysIn(month, year)) return false;
  const h = m[4] ?? m[9];
  if (h !== undefined) {
    const mi = m[5] ?? m[10];
    const se = m[6] ?? m[11];
    if (Number(h) > 23 || Number(mi) > 59 || Number(se) > 59) return false;
    if (m[7] !== undefined && (Number(m[7]) > 23 || Number(m[8]) > 59)) return false;
  }
  return true;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** strconv.ParseInt(s, 0, 64) or ParseUint(s, 0, 64) succeeds. */
function isGoInt(s: string): boolean {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return false;
  let body = m[2]!;
  if (/^0[0-7]+$/.test(body)) body = `0o${body.slice(1)}`;
  let v = BigInt(body.replace(/^0([XOB])/, (_x, c: string) => `0${c.toLowerCase()}`));
  if (m[1] === '-') v = -v;
  // ParseUint takes no sign; ParseInt is limited to int64.
  return m[1] === '' ? v <= UINT64_MAX : v >= INT64_MIN && v <= INT64_MAX;
}

/** True when go-yaml v2 would read the unquoted string as something other than a string. */
export function resolvesAsNonString(s: string): boolean {
  if (RESOLVE_MAP.has(s)) return true;
  const c = s[0]!;
  if (c === '.') return /^\.[0-9]+([eE][-+]?[0-9]+)?$/.test(s);
  if (c === '+' || c === '-' || (c >= '0' && c <= '9')) {
    if (isTimestamp(s)) return true;
    const plain = s.replace(/_/g, '');
    if (isGoInt(plain)) return true;
    if (YAML_STYLE_FLOAT.test(plain)) return true;
    if (/^-?0b[01]+$/.test(plain)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------- scalar analysis

function isPrintable(cp: number): boolean {
  return (
    cp === 0x0a ||
    (cp >= 0x20 && cp <= 0x7e) ||
    (cp >= 0xa0 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd && cp !== 0xfeff)
  );
}
const isBreak = (c: string | undefined): boolean =>
  c === '\r' || c === '\n' || c === '\u0085' || c === '\u2028' || c === '\u2029';
const isSpace = (c: string | undefined): boolean => c === ' ';
const isBlankz = (c: string | undefined): boolean =>
  c === undefined || c === ' ' || c === '\t' || isBreak(c) || c === '\0';

interface Analysis {
  multiline: boolean;
  blockPlain: boolean;
  singleQuoted: boolean;
  block: boolean;
}

/** libyaml's yaml_emitter_analyze_scalar (block context only). */
function analyze(chars: string[]): Analysis {
  if (chars.length === 0) return { multiline: false, blockPlain: true, singleQuoted: true, block: false };
  let blockIndicators = false;
  let lineBreaks = false;
  let special = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  let previousSpace = false;
  let previousBreak = false;
  const s = chars.join('');
  if ((s.startsWith('---') || s.startsWith('...')) && isBlankz(chars[3])) blockIndicators = true;
  let precededByWhitespace = true;
  let followedByWhitespace = isBlankz(chars[1]);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(c)) blockIndicators = true;
      if ((c === '?' || c === ':') && followedByWhitespace) blockIndicators = true;
      if (c === '-' && followedByWhitespace) blockIndicators = true;
    } else {
      if (c === ':' && followedByWhitespace) blockIndicators = true;
      if (c === '#' && precededByWhitespace) blockIndicators = true;
    }
    if (!isPrintable(c.codePointAt(0)!)) special = true;
    if (isBreak(c)) lineBreaks = true;
    if (isSpace(c)) {
      if (i === 0) leadingSpace = true;
      if (i === chars.length - 1) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (isBreak(c)) {
      if (i === 0) leadingBreak = true;
      if (i === chars.length - 1) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousBreak = true;
      previousSpace = false;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededByWhitespace = isBlankz(c);
    followedByWhitespace = isBlankz(chars[i + 2]);
  }
  const a: Analysis = { multiline: lineBreaks, blockPlain: true, singleQuoted: true, block: true };
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) a.blockPlain = false;
  if (trailingSpace) a.block = false;
  if (breakSpace) a.blockPlain = a.singleQuoted = false;
  if (spaceBreak || special) a.blockPlain = a.singleQuoted = a.block = false;
  if (lineBreaks) a.blockPlain = false;
  if (blockIndicators) a.blockPlain = false;
  return a;
}

type Style = 'plain' | 'single' | 'double' | 'literal';

/** go-yaml v2's stringv style request, then libyaml's yaml_emitter_select_scalar_style. */
function selectStyle(s: string, chars: string[], simpleKey: boolean): Style {
  const a = analyze(chars);
  let style: Style = s.includes('\n')
    ? 'literal'
    : !resolvesAsNonString(s) && !BASE60_FLOAT.test(s)
      ? 'plain'
      : 'double';
  if (simpleKey && a.multiline) style = 'double';
  if (style === 'plain') {
    if (!a.blockPlain) style = 'single';
    if (chars.length === 0 && simpleKey) style = 'single';
  }
  if (style === 'single' && !a.singleQuoted) style = 'double';
  if (style === 'literal' && (!a.block || simpleKey)) style = 'double';
  return style;
}

// ------------------------------------------------------------------------------------------------ writer

class Emitter {
  out = '';
  column = 0;
  whitespace = true;
  indention = true;

  put(s: string): void {
    this.out += s;
    this.column += [...s].length;
  }
  putBreak(): void {
    this.out += '\n';
    this.column = 0;
  }
  writeIndent(indent: number): void {
    if (!this.indention || this.column > indent || (this.column === indent && !this.whitespace))
      this.putBreak();
    while (this.column < indent) this.put(' ');
    this.whitespace = true;
    this.indention = true;
  }
  indicator(s: string, needWhitespace: boolean, isWhitespace: boolean, isIndention: boolean): void {
    if (needWhitespace && !this.whitespace) this.put(' ');
    this.put(s);
    this.whitespace = isWhitespace;
    this.indention = this.indention && isIndention;
  }

  scalar(s: string, indent: number, simpleKey: boolean): void {
    const chars = [...s];
    const style = selectStyle(s, chars, simpleKey);
    const breaks = !simpleKey;
    switch (style) {
      case 'plain':
        return this.plain(chars, indent, breaks);
      case 'single':
        return this.single(chars, indent, breaks);
      case 'double':
        return this.double(chars, indent, breaks);
      case 'literal':
        return this.literal(chars, indent);
    }
  }

  private plain(chars: string[], indent: number, allowBreaks: boolean): void {
    if (!this.whitespace && chars.length > 0) this.put(' ');
    let spaces = false;
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i]!;
      if (isSpace(c)) {
        if (allowBreaks && !spaces && this.column > BEST_WIDTH && !isSpace(chars[i + 1])) {
          this.writeIndent(indent);
        } else this.put(c);
        spaces = true;
      } else {
        this.put(c);
        this.indention = false;
        spaces = false;
      }
    }
    this.whitespace = false;
    this.indention = false;
  }

  private single(chars: string[], indent: number, allowBreaks: boolean): void {
    this.indicator("'", true, false, false);
    let spaces = false;
    let breaks = false;
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i]!;
      if (isSpace(c)) {
        if (
          allowBreaks &&
          !spaces &&
          this.column > BEST_WIDTH &&
          i > 0 &&
          i < chars.length - 1 &&
          !isSpace(chars[i + 1])
        ) {
          this.writeIndent(indent);
        } else this.put(c);
        spaces = true;
      } else if (isBreak(c)) {
        if (!breaks && c === '\n') this.putBreak();
        this.putBreak();
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent(indent);
        if (c === "'") this.put("'");
        this.put(c);
        this.indention = false;
        spaces = false;
        breaks = false;
      }
    }
    this.indicator("'", false, false, false);
  }

  private double(chars: string[], indent: number, allowBreaks: boolean): void {
    this.indicator('"', true, false, false);
    let spaces = false;
    const ESC: Record<number, string> = {
      0x00: '0', 0x07: 'a', 0x08: 'b', 0x09: 't', 0x0a: 'n', 0x0b: 'v', 0x0c: 'f', 0x0d: 'r', 0x1b: 'e',
      0x22: '"', 0x5c: '\\', 0x85: 'N', 0xa0: '_', 0x2028: 'L', 0x2029: 'P',
    }; // prettier-ignore
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i]!;
      const cp = c.codePointAt(0)!;
      if (!isPrintable(cp) || cp === 0xfeff || isBreak(c) || c === '"' || c === '\\') {
        this.put('\\');
        const e = ESC[cp];
        if (e !== undefined) this.put(e);
        else if (cp <= 0xff) this.put(`x${cp.toString(16).toUpperCase().padStart(2, '0')}`);
        else if (cp <= 0xffff) this.put(`u${cp.toString(16).toUpperCase().padStart(4, '0')}`);
        else this.put(`U${cp.toString(16).toUpperCase().padStart(8, '0')}`);
        spaces = false;
      } else if (isSpace(c)) {
        if (allowBreaks && !spaces && this.column > BEST_WIDTH && i !== 0 && i !== chars.length - 1) {
          this.writeIndent(indent);
          if (isSpace(chars[i + 1])) this.put('\\');
        } else this.put(c);
        spaces = true;
      } else {
        this.put(c);
        spaces = false;
      }
    }
    this.indicator('"', false, false, false);
  }

  private literal(chars: string[], indent: number): void {
    this.indicator('|', true, false, false);
    if (isSpace(chars[0]) || isBreak(chars[0])) this.put('2');
    const last = chars[chars.length - 1];
    if (!isBreak(last)) this.put('-');
    else if (chars.length === 1 || isBreak(chars[chars.length - 2])) this.put('+');
    this.putBreak();
    this.indention = true;
    this.whitespace = true;
    let breaks = true;
    for (const c of chars) {
      if (isBreak(c)) {
        this.putBreak();
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) {
          this.writeIndent(indent);
          breaks = false;
        }
        this.put(c);
        this.indention = false;
      }
    }
  }
}

/** Go's strconv.FormatFloat(f, 'g', -1, 64) as go-yaml prints floats. */
export function goFloat(n: number): string {
  if (Number.isNaN(n)) return '.nan';
  if (n === Infinity) return '.inf';
  if (n === -Infinity) return '-.inf';
  if (Number.isInteger(n) && Math.abs(n) < 2 ** 63) return BigInt(n).toString();
  const [mant, e] = n.toExponential().split('e') as [string, string];
  const exp = Number(e);
  // Shortest 'g' switches to the exponent form below 1e-4 and from 1e6 (eprec = 6).
  if (exp < -4 || exp >= 6) {
    const abs = Math.abs(exp);
    return `${mant}e${exp < 0 ? '-' : '+'}${abs < 10 ? `0${abs}` : abs}`;
  }
  return String(n);
}

function isMap(v: JsonValue): v is { [k: string]: JsonValue } {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** One node in block context; the cursor is right after `key:` / `- ` or at the start of the document. */
function node(e: Emitter, v: JsonValue, indent: number, mappingContext: boolean): void {
  if (Array.isArray(v)) {
    if (v.length === 0) return e.indicator('[]', true, false, false);
    // Sequences inside a mapping are not indented (go-yaml v2); nested sequences are.
    const seqIndent = mappingContext && !e.indention ? indent : indent + 2;
    const ind = indent < 0 ? 0 : seqIndent;
    for (const item of v) {
      e.writeIndent(ind);
      e.indicator('-', true, false, true);
      node(e, item, ind, false);
    }
    return;
  }
  if (isMap(v)) {
    const keys = Object.keys(v).sort(goYamlKeyCompare);
    if (keys.length === 0) return e.indicator('{}', true, false, false);
    const ind = indent < 0 ? 0 : indent + 2;
    for (const k of keys) {
      e.writeIndent(ind);
      e.scalar(k, ind + 2, true);
      e.indicator(':', false, false, false);
      node(e, v[k]!, ind, true);
    }
    return;
  }
  const scalarIndent = indent < 0 ? 0 : indent + 2;
  if (typeof v === 'string') return e.scalar(v, scalarIndent, false);
  let text: string;
  if (v === null) text = 'null';
  else if (typeof v === 'boolean') text = v ? 'true' : 'false';
  else if (typeof v === 'bigint') text = v.toString();
  else text = goFloat(v);
  if (!e.whitespace) e.put(' ');
  e.put(text);
  e.whitespace = false;
  e.indention = false;
}

/** The YAML document kubectl prints for a JSON value (`kubectl get -o yaml`). */
export function toGoYaml(v: JsonValue): string {
  const e = new Emitter();
  node(e, v, -1, false);
  if (e.column !== 0 || e.out === '') e.putBreak();
  return e.out;
}
