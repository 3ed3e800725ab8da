/**
 * A lab's shape as data: which hosts it has, their addresses, and which components each one runs. Pure:
 * lab.ts stores it, the supervisor runs it, status prints it.
 *
 *   stacked:  cp-1..cp-N each run etcd, kube-apiserver, kube-controller-manager and kube-scheduler
 *   external: etcd-1..etcd-E run etcd; cp-1..cp-N run the other three
 *   both:     worker-1..worker-W each run one kwok that keeps the Node of that name alive
 *
 * Host numbers inside the lab's /24: the gateway and load balancer .1, etcd-i .(10+i), cp-i .(20+i),
 * worker-i .(30+i).
 */
import { UsageError } from '../util/errors.js';

export const COMPONENTS = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kwok',
] as const;
export type Component = (typeof COMPONENTS)[number];

export type Topology = 'stacked' | 'external';
export type NetworkMode = 'netns' | 'loopback';

export interface LabShape {
  topology: Topology;
  /** etcd members (stacked: equals controlPlanes). */
  etcd: number;
  controlPlanes: number;
  nodes: number;
}

export interface HostPlan {
  name: string;
  /** Host number inside the lab's /24. */
  n: number;
  components: Component[];
}

export const GATEWAY_HOST = 1;
export const APISERVER_PORT = 6443;
export const CONTROLLER_MANAGER_PORT = 10257;
export const SCHEDULER_PORT = 10259;
export const KWOK_PORT = 10247;

/** Checks the requested shape and fills in the defaults of its topology. */
export function resolveShape(o: {
  topology?: string;
  etcd?: number;
  controlPlanes?: number;
  nodes?: number;
}): LabShape {
  const topology = o.topology ?? 'stacked';
  if (topology !== 'stacked' && topology !== 'external') {
    throw new UsageError(`--topology: expected stacked or external, got '${topology}'`);
  }
  const controlPlanes = o.controlPlanes ?? (topology === 'stacked' ? 3 : 2);
  const etcd = topology === 'stacked' ? (o.etcd ?? controlPlanes) : (o.etcd ?? 3);
  const nodes = o.nodes ?? 3;
  for (const [flag, v, lo, hi] of [
    ['--control-planes', controlPlanes, 1, 5],
    ['--nodes', nodes, 0, 9],
  ] as const) {
    if (!Number.isInteger(v) || v < lo || v > hi) {
      throw new UsageError(`${flag}: expected a whole number from ${lo} to ${hi}, got '${v}'`);
    }
  }
  if (![1, 3, 5].includes(etcd)) throw new UsageError(`--etcd: expected 1, 3 or 5 members, got '${etcd}'`);
  if (topology === 'stacked' && etcd !== controlPlanes) {
    throw new UsageError(
      `--etcd ${etcd} with --control-planes ${controlPlanes}: a stacked lab runs one etcd member on every control-plane host; use --topology external for a different count`,
    );
  }
  return { topology, etcd, controlPlanes, nodes };
}

export function planHosts(shape: LabShape): HostPlan[] {
  const hosts: HostPlan[] = [];
  const cp: Component[] = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'];
  if (shape.topology === 'external') {
    for (let i = 1; i <= shape.etcd; i++) hosts.push({ name: `etcd-${i}`, n: 10 + i, components: ['etcd'] });
    for (let i = 1; i <= shape.controlPlanes; i++) hosts.push({ name: `cp-${i}`, n: 20 + i, components: cp });
  } else {
    for (let i = 1; i <= shape.controlPlanes; i++) {
      hosts.push({ name: `cp-${i}`, n: 20 + i, components: ['etcd', ...cp] });
    }
  }
  for (let i = 1; i <= shape.nodes; i++) hosts.push({ name: `worker-${i}`, n: 30 + i, components: ['kwok'] });
  return hosts;
}

/** The lab's /24 prefix ("a.b.c") for its network mode, from the 127.X.Y block it holds. */
export function networkPrefix(blockPrefix: string, network: NetworkMode): string {
  if (network === 'loopback') return blockPrefix;
  const [, x, y] = blockPrefix.split('.');
  return `10.${x}.${y}`;
}

export function isComponent(s: string): s is Component {
  return (COMPONENTS as readonly string[]).includes(s);
}
