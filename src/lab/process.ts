/**
 * Child processes of labs and harnesses. Every child is started under `setpriv --pdeathsig KILL`, so the
 * kernel kills it when the process that started it dies, even by SIGKILL; stop() kills and reaps it; a
 * process-exit cleanup kills whatever is still running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { onCleanup } from '../util/cleanup.js';

export interface ProcessSpec {
  /** A short name for logs: "etcd m1", "kube-apiserver". */
  name: string;
  command: string;
  args: string[];
  /** stdout and stderr are appended here. */
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Run inside this network namespace (`ip netns exec NAME`; needs root). */
  netns?: string;
  /** Run in a UTS namespace of its own with this hostname (`unshare --uts`; needs root). */
  hostname?: string;
}

/**
 * The argv run under setpriv: the command, wrapped for a hostname and a network namespace. Every wrapper
 * execs the next, so the pid stays the command's own and its parent-death signal is kept.
 */
export function wrappedArgv(spec: ProcessSpec): string[] {
  let argv = [spec.command, ...spec.args];
  if (spec.hostname) {
    argv = ['unshare', '--uts', '--', 'sh', '-c', 'hostname "$0" && exec "$@"', spec.hostname, ...argv];
  }
  if (spec.netns) argv = ['ip', 'netns', 'exec', spec.netns, ...argv];
  return argv;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class ManagedProcess {
  readonly exited: Promise<ExitStatus>;
  private status: ExitStatus | undefined;
  private readonly unregister: () => void;

  private constructor(
    readonly spec: ProcessSpec,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.status = { code, signal };
        this.unregister();
        resolve(this.status);
      });
    });
    const pid = child.pid;
    this.unregister = onCleanup(() => {
      if (pid !== undefined && this.status === undefined) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    });
  }

  static start(spec: ProcessSpec): ManagedProcess {
    const fd = openSync(spec.logFile, 'a', 0o600);
    try {
      const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', ...wrappedArgv(spec)], {
        stdio: ['ignore', fd, fd],
        env: spec.env ?? process.env,
        cwd: spec.cwd,
      });
      child.on('error', () => undefined); // surfaced through exited / health checks
      return new ManagedProcess(spec, child);
    } finally {
      closeSync(fd);
    }
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.status === undefined;
  }

  get exitStatus(): ExitStatus | undefined {
    return this.status;
  }

  /** Sends `signal` and waits until the process is reaped (SIGKILL after `graceMs` if needed). */
  async stop(signal: NodeJS.Signals = 'SIGKILL', graceMs = 5000): Promise<ExitStatus> {
    if (this.status) return this.status;
    this.child.kill(signal);
    if (signal !== 'SIGKILL') {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      const st = await this.exited;
      clearTimeout(timer);
      return st;
    }
    return this.exited;
  }
}
