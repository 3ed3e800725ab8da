/**
 * V8 heap settings for a backup's threads, set when its pipeline or inspection starts (they are read
 * while the process runs, so this does not need a flag on the command line).
 *
 * - `--min-semi-space-size=16`: V8 starts an isolate's young generation at 1 MiB and grows it only after a
 *   run of busy scavenges; a thread that allocates short-lived buffers and objects at the rate of a snapshot
 *   stream (the pipeline) or an inspection (page reads, keys) then spends a third to a half of its CPU in
 *   garbage collection. Measured on the bench's 1 GiB db: the two inspection threads went from ~25 scavenges
 *   and 2–4 full collections each (~200 ms) to ~6 scavenges and one (~40 ms). Read when an isolate is
 *   created: it gives the worker threads started after it a 16 MiB semi-space; the main thread's isolate
 *   already exists and is not changed.
 * - `--no-concurrent-array-buffer-sweeping`: the gRPC library allocates one ArrayBuffer per 32 KiB message
 *   (32,768 per GiB of snapshot). V8 frees unreachable ArrayBuffers on its helper threads by default; on two
 *   cores that cost ~1 CPU second per GiB of stream on the helper threads (receiving alone: 3.0 CPU s, 2.0
 *   with the frees done inline during the scavenge, for the same wall time), CPU the member's stream and the
 *   pipeline need. V8 reads the flag each time it sweeps, so changing it between collections is safe.
 */
import { setFlagsFromString } from 'node:v8';

const SEMI_SPACE_MIB = 16;
let set = false;

export function tuneBackupHeaps(): void {
  if (set) return;
  set = true;
  setFlagsFromString(`--min-semi-space-size=${SEMI_SPACE_MIB}`);
  setFlagsFromString('--no-concurrent-array-buffer-sweeping');
}
