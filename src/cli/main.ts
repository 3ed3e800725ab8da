/**
 * The CLI entry: parses argv, loads the invoked command group lazily, maps errors to exit codes
 * (docs/cli-contract.md) and returns the exit code. bin/lifeboat.mjs is the only caller.
 */
import { Command, CommanderError } from 'commander';
import { runCleanups } from '../util/cleanup.js';
import { ExitCode, exitCodeOf, oneLine, UsageError } from '../util/errors.js';
import { lifeboatVersion } from '../util/version.js';
import { groups } from './groups.js';

function buildProgram(errLines: string[]): Command {
  const program = new Command('lifeboat');
  program
    .description('Back up, inspect, repair and restore the control plane of self-hosted Kubernetes.')
    .version(lifeboatVersion(), '--version', 'print the version')
    .option('--debug', 'print stack traces and debug details on errors')
    .helpOption('-h, --help', 'show help')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeErr: (s) => errLines.push(s),
      outputError: (s) => errLines.push(s),
    });
  const examples = groups.flatMap((g) => g.examples.map((e) => `  $ ${e}`));
  program.addHelpText(
    'after',
    `\nExamples:\n${examples.join('\n')}\n\nExit codes: 0 ok, 1 failed, 2 usage, 3 corrupt input or verification failed,\n4 not found, 5 connection/TLS/auth, 6 refused for safety, 130 interrupted.`,
  );
  return program;
}

/** The first argument that is not an option: the command group the user asked for. */
function requestedGroup(argv: string[]): string | undefined {
  return argv.find((a) => !a.startsWith('-'));
}

function applyExitOverride(cmd: Command, errLines: string[]): void {
  cmd.exitOverride().configureOutput({
    writeErr: (s) => errLines.push(s),
    outputError: (s) => errLines.push(s),
  });
  for (const sub of cmd.commands) applyExitOverride(sub, errLines);
}

export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  const errLines: string[] = [];
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`lifeboat: interrupted by ${signal}\n`);
    runCleanups();
    process.exit(ExitCode.interrupted);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // A reader that went away (`lifeboat dump … | head`) ends the command quietly, as with any Unix filter.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    runCleanups();
    process.exit(ExitCode.ok);
  });
  try {
    const program = buildProgram(errLines);
    const wanted = requestedGroup(argv);
    for (const group of groups) {
      const cmd = program.command(group.name).description(group.summary);
      if (group.name === wanted) {
        const mod = await group.load();
        mod.define(cmd);
        cmd.addHelpText('after', `\nExamples:\n${group.examples.map((e) => `  $ ${e}`).join('\n')}`);
      }
    }
    applyExitOverride(program, errLines);
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return ExitCode.ok;
      if (err.code === 'commander.help') return ExitCode.ok;
      const msg = (errLines.join('') || err.message).trim().replace(/^error:\s*/, '');
      const wanted = requestedGroup(argv);
      const where = wanted && groups.some((g) => g.name === wanted) ? `lifeboat ${wanted}` : 'lifeboat';
      process.stderr.write(`lifeboat: error: ${oneLine(msg)} (see '${where} --help')\n`);
      return ExitCode.usage;
    }
    process.stderr.write(`lifeboat: error: ${oneLine(err)}\n`);
    if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return err instanceof UsageError ? ExitCode.usage : exitCodeOf(err);
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    runCleanups();
  }
}
