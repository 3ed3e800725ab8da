/**
 * Lifeboat's error classes. Each carries the data that produced it and the process exit code the CLI
 * maps it to (docs/cli-contract.md). Library code throws these; only src/cli/main.ts turns them into exit
 * codes.
 */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  corrupt: 3,
  notFound: 4,
  connection: 5,
  refused: 6,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * Messages often quote untrusted input (a key, a bad JSON fragment, a content type read from a corrupt
 * file): control characters are escaped so an error stays one printable line on any terminal.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

export class LifeboatError extends Error {
  readonly exitCode: ExitCodeValue = ExitCode.failed;
  constructor(message: string, options?: { cause?: unknown }) {
    super(printable(message), options);
    this.name = new.target.name;
  }
}

/** A bad flag, a missing argument, a malformed value on the command line. */
export class UsageError extends LifeboatError {
  override readonly exitCode = ExitCode.usage;
}

/** Input that is not what it claims to be: a corrupt page, a bad checksum, a truncated file. */
export class CorruptInputError extends LifeboatError {
  override readonly exitCode = ExitCode.corrupt;
  constructor(
    readonly file: string,
    readonly problem: string,
    readonly where?: string,
  ) {
    super(`${file}: ${where ? `${where}: ` : ''}${problem}`);
  }
}

/** A verification (checksum, structure, restore test) that ran and failed. */
export class VerificationError extends LifeboatError {
  override readonly exitCode = ExitCode.corrupt;
}

/** A file, key, object or backup that does not exist. */
export class NotFoundError extends LifeboatError {
  override readonly exitCode = ExitCode.notFound;
  constructor(
    readonly what: string,
    readonly where?: string,
  ) {
    super(where ? `${what} not found in ${where}` : `${what} not found`);
  }
}

/** Unreachable endpoint, TLS failure, refused credentials. */
export class ConnectionError extends LifeboatError {
  override readonly exitCode = ExitCode.connection;
  constructor(
    readonly endpoint: string,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${endpoint}: ${problem}`, options);
  }
}

/** An operation Lifeboat declines because it could lose data (overwrite without --force, ...). */
export class RefusedError extends LifeboatError {
  override readonly exitCode = ExitCode.refused;
}

/** SIGINT / SIGTERM arrived while the command ran. */
export class InterruptedError extends LifeboatError {
  override readonly exitCode = ExitCode.interrupted;
  constructor(readonly signal: string) {
    super(`interrupted by ${signal}`);
  }
}

/** A required external binary (etcd, kube-apiserver, ...) is not installed. */
export class MissingBinaryError extends LifeboatError {
  constructor(
    readonly binary: string,
    readonly looked: string,
    readonly hint: string,
  ) {
    super(`${binary} not found at ${looked}; ${hint}`);
  }
}

/** The exit code for any thrown value. */
export function exitCodeOf(err: unknown): ExitCodeValue {
  return err instanceof LifeboatError ? err.exitCode : ExitCode.failed;
}

/** One line describing any thrown value, for stderr. */
export function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/\s*\n\s*/g, ' ').trim();
}
