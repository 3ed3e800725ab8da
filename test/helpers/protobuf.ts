/** A minimal protobuf writer for building Kubernetes storage values in tests (wire format facts only). */

export function varint(v: bigint | number): Buffer {
  let x = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  do {
    let b = Number(x & 0x7fn);
    x >>= 7n;
    if (x > 0n) b |= 0x80;
    out.push(b);
  } while (x > 0n);
  return Buffer.from(out);
}

/** A varint field. */
export const vf = (num: number, v: bigint | number | boolean): Buffer =>
  Buffer.concat([varint((num << 3) | 0), varint(typeof v === 'boolean' ? (v ? 1 : 0) : v)]);

/** A length-delimited field (bytes, string or embedded message). */
export const bf = (num: number, b: Buffer | string): Buffer => {
  const data = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
  return Buffer.concat([varint((num << 3) | 2), varint(data.length), data]);
};

export const msg = (...parts: Buffer[]): Buffer => Buffer.concat(parts);

/** A map<string,string> entry as field `num`. */
export const mapEntry = (num: number, k: string, v: Buffer | string): Buffer =>
  bf(num, msg(bf(1, k), bf(2, v)));

/** The `k8s\0` + runtime.Unknown envelope around a typed message. */
export const envelope = (apiVersion: string, kind: string, raw: Buffer): Buffer =>
  Buffer.concat([
    Buffer.from('k8s\0', 'latin1'),
    bf(1, msg(bf(1, apiVersion), bf(2, kind))),
    bf(2, raw),
    bf(3, ''),
    bf(4, ''),
  ]);

/** ObjectMeta with name, namespace, uid, creationTimestamp and optional extra fields. */
export const objectMeta = (name: string, ns: string, extra: Buffer[] = []): Buffer =>
  msg(
    bf(1, name),
    bf(2, ''),
    bf(3, ns),
    bf(4, ''),
    bf(5, 'uid-1'),
    bf(6, ''),
    vf(7, 0),
    bf(8, msg(vf(1, 1704164645))),
    ...extra,
  );
