/**
 * Which process a recorded pid is: its start time (clock ticks after boot, /proc/PID/stat field 22) and its
 * executable. A lab signals a recorded pid only while both still match, so a reused pid is never hit.
 */
import { readFileSync, readlinkSync } from 'node:fs';

export interface ProcessIdentity {
  pid: number;
  /** /proc/PID/stat field 22, as text (ticks since boot). */
  startTime: string;
  /** /proc/PID/exe at the time it was recorded. */
  exe: string;
}

function stat(pid: number): { state: string; startTime: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may itself contain spaces.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0]!, startTime: rest[19]! };
  } catch {
    return undefined;
  }
}

function exeOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '');
  } catch {
    return undefined;
  }
}

/** The identity of a live (non-zombie) process, or undefined. */
export function identify(pid: number): ProcessIdentity | undefined {
  const s = stat(pid);
  const exe = exeOf(pid);
  if (!s || s.state === 'Z' || s.state === 'X' || exe === undefined) return undefined;
  return { pid, startTime: s.startTime, exe };
}

/** Whether the recorded process is still the one running under its pid. */
export function stillRunning(id: ProcessIdentity): boolean {
  const now = identify(id.pid);
  return now !== undefined && now.startTime === id.startTime && now.exe === id.exe;
}

/** Sends `signal` only if the recorded process still matches; returns whether it was sent. */
export function signalIfSame(id: ProcessIdentity, signal: NodeJS.Signals): boolean {
  if (!stillRunning(id)) return false;
  try {
    process.kill(id.pid, signal);
    return true;
  } catch {
    return false;
  }
}
