/** Runs bin/lifeboat as a user would (from the repository root) and captures exit code, stdout and stderr. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../src/util/version.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function lifeboatBin(): string {
  return join(packageRoot(), 'bin', 'lifeboat');
}

export function runCli(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(lifeboatBin(), args, {
      env: opts.env ?? process.env,
      cwd: packageRoot(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`lifeboat ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 30000} ms`));
    }, opts.timeoutMs ?? 30000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}
