/**
 * Every harness or lab instance takes its own 127.X.Y.0/24 block, so instances running in parallel never
 * collide on ports. A block is claimed with an O_EXCL lock file holding the owner's pid; a lock whose
 * owner is dead is taken over.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onCleanup } from '../util/cleanup.js';
import { LifeboatError } from '../util/errors.js';

export interface AddressBlock {
  /** "127.X.Y" */
  prefix: string;
  /** The address of host number n (1..254) in the block. */
  host(n: number): string;
  release(): void;
}

/** First octet ranges per user of blocks; labs and harnesses never share a block. */
export const BLOCK_RANGES = { harness: [200, 239], lab: [100, 139] } as const;

function lockDir(): string {
  return join(process.env.XDG_RUNTIME_DIR || tmpdir(), 'lifeboat-address-blocks');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Claims a free block of the kind's range, or exactly `opts.prefix` (a lab restarted on the addresses its
 * certificates carry); `opts.accept` may turn a free block down (e.g. one whose derived subnet is in use).
 */
export function allocateBlock(
  kind: keyof typeof BLOCK_RANGES = 'harness',
  opts: { prefix?: string; accept?: (prefix: string) => boolean } = {},
): AddressBlock {
  const dir = lockDir();
  mkdirSync(dir, { recursive: true });
  const [lo, hi] = BLOCK_RANGES[kind];
  for (let attempt = 0; attempt < (opts.prefix ? 2 : 200); attempt++) {
    const x = lo + Math.floor(Math.random() * (hi - lo + 1));
    const y = 1 + Math.floor(Math.random() * 254);
    const prefix = opts.prefix ?? `127.${x}.${y}`;
    if (opts.accept && !opts.accept(prefix)) continue;
    const lock = join(dir, prefix);
    try {
      const fd = openSync(lock, 'wx', 0o644);
      writeSync(fd, String(process.pid));
      closeSync(fd);
    } catch {
      try {
        const owner = Number(readFileSync(lock, 'utf8'));
        if (owner > 0 && !alive(owner)) rmSync(lock, { force: true });
      } catch {
        /* raced with another claimant */
      }
      continue;
    }
    const unregister = onCleanup(() => rmSync(lock, { force: true }));
    return {
      prefix,
      host: (n: number) => `${prefix}.${n}`,
      release: () => {
        rmSync(lock, { force: true });
        unregister();
      },
    };
  }
  if (opts.prefix) {
    throw new LifeboatError(
      `address block ${opts.prefix}.0/24 is held by a running process (lock in ${dir})`,
    );
  }
  throw new LifeboatError(`no free 127.X.Y.0/24 address block in ${dir} after 200 attempts`);
}
