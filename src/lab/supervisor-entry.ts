/**
 * Entry of the detached lab supervisor process: `node supervisor-entry.js --dir DIR [--owner-pid PID]`.
 * Started by `lab up` (lab.ts); not meant to be run by hand.
 */
import { oneLine } from '../util/errors.js';
import { Supervisor } from './supervisor.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const dir = opt('--dir');
const owner = opt('--owner-pid');
if (!dir) {
  process.stderr.write('supervisor-entry: --dir is required\n');
  process.exit(2);
}
Supervisor.run(dir, (code) => process.exit(code), owner ? Number(owner) : undefined).catch((err: unknown) => {
  process.stderr.write(`lab supervisor: ${oneLine(err)}\n`);
  process.exit(1);
});
