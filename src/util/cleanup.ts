/**
 * Process-wide cleanup registry: temp files, .part files and child processes register here so that they
 * are removed or killed on normal exit, on errors and on SIGINT/SIGTERM. Cleanups must be synchronous
 * (they also run from the process 'exit' event, where nothing asynchronous completes).
 */
type Cleanup = () => void;
const cleanups = new Set<Cleanup>();
let installed = false;

export function onCleanup(fn: Cleanup): () => void {
  install();
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/** Runs and forgets every registered cleanup, newest first. Errors are swallowed: cleanup is best effort. */
export function runCleanups(): void {
  const all = [...cleanups].reverse();
  cleanups.clear();
  for (const fn of all) {
    try {
      fn();
    } catch {
      /* best effort */
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runCleanups);
}
