/**
 * The young generation the backup's worker threads start with. V8 starts an isolate's young generation at
 * 1 MiB and grows it only after a run of busy scavenges; a thread that allocates short-lived buffers and
 * objects at the rate of a snapshot stream (the pipeline) or an inspection (page reads, keys) then spends
 * a third to a half of its CPU in garbage collection. Measured on the bench's 1 GiB db: the two inspection
 * threads went from ~25 scavenges and 2–4 full collections each (~200 ms) to ~6 scavenges and one (~40 ms).
 *
 * `--min-semi-space-size` is read when an isolate is created, so setting it before the workers start gives
 * them (and later worker threads of this process) a 16 MiB semi-space from the start; the main thread's
 * isolate already exists and is not changed.
 */
import { setFlagsFromString } from 'node:v8';

const SEMI_SPACE_MIB = 16;
let set = false;

export function roomyWorkerHeaps(): void {
  if (set) return;
  set = true;
  setFlagsFromString(`--min-semi-space-size=${SEMI_SPACE_MIB}`);
}
