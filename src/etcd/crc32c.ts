/**
 * CRC-32C (Castagnoli), as Go's crc32.MakeTable(crc32.Castagnoli). Uses @node-rs/crc32 (a SIMD binary
 * shipped inside its npm package) when it loads, else a table-driven pure TypeScript implementation.
 * Both are incremental: pass the previous result as `initial`.
 */
import { createRequire } from 'node:module';

type Crc = (data: Uint8Array, initial: number) => number;

const TABLE = (() => {
  const t = new Uint32Array(256 * 8);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  // Slicing-by-8 tables.
  for (let i = 0; i < 256; i++) {
    let c = t[i]!;
    for (let s = 1; s < 8; s++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[s * 256 + i] = c >>> 0;
    }
  }
  return t;
})();

/** Pure TypeScript CRC-32C. */
export function crc32cPure(data: Uint8Array, initial = 0): number {
  let c = ~initial >>> 0;
  let i = 0;
  const n = data.length;
  const t = TABLE;
  for (; i + 8 <= n; i += 8) {
    const a = (c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))) >>> 0;
    const b = data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24);
    c =
      t[7 * 256 + (a & 0xff)]! ^
      t[6 * 256 + ((a >>> 8) & 0xff)]! ^
      t[5 * 256 + ((a >>> 16) & 0xff)]! ^
      t[4 * 256 + (a >>> 24)]! ^
      t[3 * 256 + (b & 0xff)]! ^
      t[2 * 256 + ((b >>> 8) & 0xff)]! ^
      t[256 + ((b >>> 16) & 0xff)]! ^
      t[(b >>> 24) & 0xff]!;
  }
  for (; i < n; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

let native: Crc | undefined;
let nativeTried = false;

function loadNative(): Crc | undefined {
  if (nativeTried) return native;
  nativeTried = true;
  if (process.env.LIFEBOAT_PURE_CRC32C === '1') return undefined;
  try {
    const require = createRequire(import.meta.url);
    const mod = require('@node-rs/crc32') as { crc32c: (input: Uint8Array, initial?: number) => number };
    if (mod.crc32c(Buffer.from('123456789'), 0) === 0xe3069283) {
      native = (d, init) => (d.length === 0 ? init : mod.crc32c(d, init) >>> 0);
    }
  } catch {
    native = undefined;
  }
  return native;
}

/** Which implementation `crc32c` uses: 'native' (@node-rs/crc32) or 'pure'. */
export function crc32cImplementation(): 'native' | 'pure' {
  return loadNative() ? 'native' : 'pure';
}

export function crc32c(data: Uint8Array, initial = 0): number {
  const n = loadNative();
  return n ? n(data, initial) : crc32cPure(data, initial);
}

// CRC combination: the CRC of A‖B from crc(A), crc(B) and len(B), by multiplying crc(A) by x^(8·len(B))
// modulo the (bit-reflected) Castagnoli polynomial. Lets ranges be checksummed on several threads.
const POLY = 0x82f63b78;

/** a·b modulo the reflected polynomial (bit 31 is x^0). */
function mulModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/** X2K[k] = x^(2^k) mod P, reflected. */
const X2K = (() => {
  const t = new Uint32Array(32);
  let p = 0x40000000; // x^1
  t[0] = p;
  for (let k = 1; k < 32; k++) t[k] = p = mulModP(p, p);
  return t;
})();

/** x^(8·n) mod P, reflected. */
function xPow8n(n: number): number {
  let p = 0x80000000; // x^0
  let k = 3;
  while (n > 0) {
    if (n % 2 === 1) p = mulModP(X2K[k & 31]!, p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

/** x^(8n) by length: pieces often repeat lengths (equal values, full pages, fixed-size pieces). */
const powCache = new Map<number, number>();

/** CRC-32C of A‖B from crc(A), crc(B) and B's length in bytes (any safe integer). */
export function crc32cCombine(crcA: number, crcB: number, lengthB: number): number {
  if (lengthB === 0) return crcA >>> 0;
  let pow = powCache.get(lengthB);
  if (pow === undefined) {
    pow = xPow8n(lengthB);
    if (powCache.size >= 4096) powCache.clear();
    powCache.set(lengthB, pow);
  }
  return (mulModP(pow, crcA >>> 0) ^ crcB) >>> 0;
}
