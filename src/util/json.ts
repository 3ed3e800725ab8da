/**
 * JSON output that keeps 64-bit integers exact and prints object keys in the order they were given. Values
 * of type bigint are printed as bare JSON numbers with all their digits (JSON.stringify would throw; Number()
 * would round above 2^53). JavaScript objects list integer-like keys ("10", "2") first, in numeric order,
 * whatever order they were added in; objects made by `orderedObject` remember the intended order (Go's
 * sorted map keys, or a document's own order) and print in it.
 */

/** The intended key order of an object made by `orderedObject` (when JavaScript's own order differs). */
const KEY_ORDER = Symbol('lifeboat.keyOrder');

/** Set while stringifyJson runs the native serializer: ordered objects then ask for the exact one. */
let exactOnly = false;
const NEEDS_EXACT = new Error('ordered object');

/**
 * Prototype of objects whose keys JavaScript would enumerate in another order than intended. Outside
 * stringifyJson, JSON.stringify prints them in JavaScript's order (as a plain object).
 */
const ORDERED_PROTO: object = Object.create(Object.prototype, {
  toJSON: {
    value(this: object): object {
      if (exactOnly) throw NEEDS_EXACT;
      return this;
    },
  },
});

type Ordered = { [KEY_ORDER]?: string[] } & Record<string, unknown>;

/** Whether `k` is an array index, which JavaScript objects enumerate before every other key. */
export function isIndexKey(k: string): boolean {
  if (k.length === 0) return false;
  const c = k.charCodeAt(0);
  if (c < 0x30 || c > 0x39) return false;
  if (k.length > 10 || (c === 0x30 && k.length > 1)) return false;
  for (let i = 1; i < k.length; i++) {
    const d = k.charCodeAt(i);
    if (d < 0x30 || d > 0x39) return false;
  }
  return Number(k) < 4294967295;
}

/** Sets an own, enumerable key, `__proto__` included (plain assignment would set the prototype). */
export function setKey(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__')
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

/**
 * An object with `keys` (a later duplicate's value wins, at the first one's place) printed by stringifyJson in
 * exactly that order. A plain object when JavaScript's own order is the same (no integer-like key out of
 * place), else one that carries its order.
 */
export function orderedObject<T>(keys: readonly string[], values: readonly T[]): Record<string, T> {
  let index = false;
  for (let i = 0; i < keys.length; i++) {
    const c = keys[i]!.charCodeAt(0);
    if (c >= 0x30 && c <= 0x39 && isIndexKey(keys[i]!)) {
      index = true;
      break;
    }
  }
  let o: Record<string, T> = {};
  if (index) {
    // JavaScript's order: index keys ascending, then the others as added.
    const unique = [...new Set(keys)];
    const js = unique.filter(isIndexKey).sort((a, b) => Number(a) - Number(b));
    for (const k of unique) if (!isIndexKey(k)) js.push(k);
    if (js.some((k, i) => k !== unique[i])) {
      o = Object.create(ORDERED_PROTO) as Record<string, T>;
      Object.defineProperty(o, KEY_ORDER, { value: unique });
    }
  }
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (k === '__proto__') setKey(o, k, values[i]);
    else o[k] = values[i]!;
  }
  return o;
}

/** The keys of an object in the order stringifyJson prints them. */
export function orderedKeys(o: object): string[] {
  const own = Object.keys(o);
  if (Object.getPrototypeOf(o) !== ORDERED_PROTO) return own;
  const order = (o as Ordered)[KEY_ORDER];
  if (!order) return own;
  // Keys removed since are skipped; keys added since follow, in JavaScript's order.
  const set = new Set(own);
  const out = order.filter((k) => set.has(k));
  if (out.length < own.length) {
    const listed = new Set(out);
    for (const k of own) if (!listed.has(k)) out.push(k);
  }
  return out;
}

/**
 * Go's string order (encoding/json sorts map keys by their UTF-8 bytes): UTF-16 code-unit order except
 * that characters beyond U+FFFF (surrogate pairs) sort after U+E000–U+FFFF, as their UTF-8 bytes do.
 */
export function goStringCompare(a: string, b: string): number {
  if (a === b) return 0;
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      const xs = x <= 0xdfff;
      if (xs !== y <= 0xdfff) return xs ? 1 : -1;
    }
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

export function stringifyJson(value: unknown, indent = 2): string {
  // Most documents hold no bigint and no ordered object: the native serializer without a replacer is
  // several times faster, and it throws at the first bigint (TypeError) or ordered object, after which the
  // document is printed the exact way.
  let text: string | undefined;
  exactOnly = true;
  try {
    text = JSON.stringify(value, null, indent);
  } catch (e) {
    if (e !== NEEDS_EXACT && !(e instanceof TypeError)) throw e;
    return exactStringify(value, indent);
  } finally {
    exactOnly = false;
  }
  return text === undefined ? 'null' : text;
}

/** JSON.stringify(value, null, indent) with bigints as bare digits and ordered objects in their order. */
function exactStringify(value: unknown, indent: number): string {
  const gap = ' '.repeat(Math.max(0, Math.min(10, Math.floor(indent))));
  const stack: unknown[] = [];
  const write = (holderKey: string, v: unknown, ind: string): string | undefined => {
    if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) !== ORDERED_PROTO) {
      const toJSON = (v as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') v = (toJSON as (k: string) => unknown).call(v, holderKey);
    } else if (typeof v === 'bigint') return v.toString();
    switch (typeof v) {
      case 'string':
        return JSON.stringify(v);
      case 'number':
        return Number.isFinite(v) ? String(v) : 'null';
      case 'boolean':
        return v ? 'true' : 'false';
      case 'bigint':
        return v.toString();
      case 'object':
        if (v === null) return 'null';
        break;
      default:
        return undefined;
    }
    if (v instanceof Number || v instanceof String || v instanceof Boolean) return JSON.stringify(v);
    if (stack.includes(v)) throw new TypeError('Converting circular structure to JSON');
    stack.push(v);
    const inner = ind + gap;
    const parts: string[] = [];
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) parts.push(write(String(i), v[i], inner) ?? 'null');
    } else {
      const o = v as Record<string, unknown>;
      for (const k of orderedKeys(o)) {
        const s = write(k, o[k], inner);
        if (s !== undefined) parts.push(JSON.stringify(k) + (gap ? ': ' : ':') + s);
      }
    }
    stack.pop();
    const [open, close] = Array.isArray(v) ? ['[', ']'] : ['{', '}'];
    if (parts.length === 0) return open + close;
    if (!gap) return open + parts.join(',') + close;
    return `${open}\n${inner}${parts.join(`,\n${inner}`)}\n${ind}${close}`;
  };
  return write('', value, '') ?? 'null';
}

/** A uint64 id (etcd member or cluster id) as etcd prints it in hex, never through a JS number. */
export function hexId(id: bigint): string {
  return id.toString(16);
}

export const LIFEBOAT_API_VERSION = 'lifeboat/v1alpha1';

/** Wraps a Lifeboat document with its apiVersion and kind, first in key order. */
export function lifeboatDoc<T extends object>(
  kind: string,
  body: T,
): { apiVersion: string; kind: string } & T {
  return { apiVersion: LIFEBOAT_API_VERSION, kind, ...body };
}
