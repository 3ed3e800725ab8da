/**
 * JSON output that keeps 64-bit integers exact. Values of type bigint are printed as bare JSON numbers
 * with all their digits (JSON.stringify would throw; Number() would round above 2^53).
 */
export function stringifyJson(value: unknown, indent = 2): string {
  // Most documents hold no bigint: the native serializer without a replacer is several times faster, and it
  // throws (TypeError) at the first bigint, after which the document is printed the exact way.
  let text: string | undefined;
  try {
    text = JSON.stringify(value, null, indent);
  } catch {
    return stringifyWithBigints(value, indent);
  }
  return text === undefined ? 'null' : text;
}

function stringifyWithBigints(value: unknown, indent: number): string {
  const marker = '\u0000bigint:';
  const text = JSON.stringify(
    value,
    (_key, v: unknown) => (typeof v === 'bigint' ? `${marker}${v.toString()}` : v),
    indent,
  );
  if (text === undefined) return 'null';
  // Replace the quoted markers with the bare digits.
  return text.replace(/"\\u0000bigint:(-?\d+)"/g, '$1');
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
