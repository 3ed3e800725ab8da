/**
 * The lab network of `--network netns` (root only): one network namespace per host, each with a veth whose
 * other end is on a bridge of the lab's own private /24. The bridge holds .1 in the root namespace, so the
 * operator's shell (and the lab's load balancer) reach every host directly.
 *
 * Partition: `ip route add blackhole` in the cut-off host for every other host's address, and in every
 * other host for the cut-off one, so traffic between them is dropped both ways while .1 keeps reaching
 * everything (the operator can still ask the isolated host what it thinks). No nftables, iptables or tc
 * actions are needed (this kernel may have none of them).
 */
import { execFileSync } from 'node:child_process';
import { LifeboatError } from '../util/errors.js';

export interface NetHost {
  name: string;
  ip: string;
}

export interface LabNetwork {
  /** Short lab id used in interface and namespace names (6 hex digits). */
  id: string;
  /** "a.b.c" of the lab's /24. */
  prefix: string;
  hosts: NetHost[];
}

export class NetworkError extends LifeboatError {}

function ip(args: string[], tolerate = false): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    if (tolerate) return '';
    const e = err as { stderr?: string; message: string };
    throw new NetworkError(`ip ${args.join(' ')} failed: ${(e.stderr || e.message).trim()}`);
  }
}

export function netnsName(id: string, host: string): string {
  return `lifeboat-${id}-${host}`;
}

export function bridgeName(id: string): string {
  return `lb${id}`;
}

function vethName(id: string, hostIp: string): string {
  return `lb${id}h${hostIp.split('.')[3]}`;
}

/** Whether "a.b.c.0/24" already appears in this machine's addresses or routes (then a lab must not use it). */
export function subnetInUse(prefix: string): boolean {
  const text = ip(['-4', '-o', 'addr'], true) + ip(['-4', 'route'], true);
  return text.includes(`${prefix}.`);
}

/** Creates the bridge, namespaces and veths; removes leftovers of an earlier run first. */
export function setupNetwork(net: LabNetwork): void {
  teardownNetwork(net);
  const br = bridgeName(net.id);
  ip(['link', 'add', br, 'type', 'bridge']);
  ip(['addr', 'add', `${net.prefix}.1/24`, 'dev', br]);
  ip(['link', 'set', br, 'up']);
  for (const h of net.hosts) {
    const ns = netnsName(net.id, h.name);
    const veth = vethName(net.id, h.ip);
    ip(['netns', 'add', ns]);
    ip(['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    ip(['link', 'set', veth, 'master', br, 'up']);
    ip(['-n', ns, 'addr', 'add', `${h.ip}/24`, 'dev', 'eth0']);
    ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  }
}

/** Removes namespaces (their veths go with them) and the bridge; missing pieces are fine. */
export function teardownNetwork(net: LabNetwork): void {
  for (const h of net.hosts) ip(['netns', 'del', netnsName(net.id, h.name)], true);
  ip(['link', 'del', bridgeName(net.id)], true);
}

export function networkExists(net: LabNetwork): boolean {
  return ip(['link', 'show', bridgeName(net.id)], true) !== '';
}

/** Drops traffic between `host` and every other host, both ways. */
export function partitionHost(net: LabNetwork, host: string): void {
  const target = net.hosts.find((h) => h.name === host);
  if (!target) throw new NetworkError(`no host ${host} in the lab network`);
  for (const other of net.hosts) {
    if (other.name === host) continue;
    ip(['-n', netnsName(net.id, host), 'route', 'replace', 'blackhole', `${other.ip}/32`]);
    ip(['-n', netnsName(net.id, other.name), 'route', 'replace', 'blackhole', `${target.ip}/32`]);
  }
}

/** Undoes partitionHost. */
export function healHost(net: LabNetwork, host: string): void {
  const target = net.hosts.find((h) => h.name === host);
  if (!target) throw new NetworkError(`no host ${host} in the lab network`);
  for (const other of net.hosts) {
    if (other.name === host) continue;
    ip(['-n', netnsName(net.id, host), 'route', 'del', 'blackhole', `${other.ip}/32`], true);
    ip(['-n', netnsName(net.id, other.name), 'route', 'del', 'blackhole', `${target.ip}/32`], true);
  }
}
