/**
 * Benchmark of `lab up` (issue 6): wall time until the supervisor reports every process healthy, for each
 * topology and network mode, fresh (new PKI, new etcd cluster) and resumed (kept PKI and data, after
 * `lab down`). Binaries must already be in the cache. Labs are created in a temporary directory and purged.
 *
 * Run: npx tsc -p . && node dist/bench/lab-up.js [--smoke] [--runs N]
 *   --smoke: one external loopback lab with one node, fresh only (well under 60 s)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downLab, upLab } from '../src/lab/lab.js';
import type { NetworkMode, Topology } from '../src/lab/topology.js';
import { stringifyJson } from '../src/util/json.js';

const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const runsArg = args.indexOf('--runs');
const runs = runsArg >= 0 ? Number(args[runsArg + 1]) : 1;
const root = process.getuid?.() === 0;

const cases: Array<{ topology: Topology; network: NetworkMode; nodes: number }> = smoke
  ? [{ topology: 'external', network: 'loopback', nodes: 1 }]
  : [
      { topology: 'stacked', network: 'loopback', nodes: 3 },
      { topology: 'external', network: 'loopback', nodes: 3 },
      ...(root
        ? ([
            { topology: 'stacked', network: 'netns', nodes: 3 },
            { topology: 'external', network: 'netns', nodes: 3 },
          ] as const)
        : []),
    ];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const results = [];
for (const c of cases) {
  const fresh: number[] = [];
  const resumed: number[] = [];
  for (let i = 0; i < runs; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'lifeboat-bench-lab-'));
    try {
      const a = await upLab({ dir, ...c, ownerPid: process.pid });
      fresh.push(a.ms);
      if (!smoke) {
        await downLab({ dir });
        const b = await upLab({ dir, ownerPid: process.pid });
        resumed.push(b.ms);
      }
      await downLab({ dir, purge: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const row = {
    topology: c.topology,
    network: c.network,
    nodes: c.nodes,
    freshMs: median(fresh),
    ...(resumed.length ? { resumedMs: median(resumed) } : {}),
    runs,
  };
  process.stderr.write(
    `${c.topology.padEnd(8)} ${c.network.padEnd(8)} fresh ${(row.freshMs / 1000).toFixed(1)} s` +
      (resumed.length ? `, resumed ${(median(resumed) / 1000).toFixed(1)} s` : '') +
      '\n',
  );
  results.push(row);
}
process.stdout.write(stringifyJson({ benchmark: 'lab-up', results }) + '\n');
