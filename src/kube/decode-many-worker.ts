/**
 * A helper thread of decodeManyJson (decode-many.ts): decodes the batches it is sent and answers on its
 * port, then counts the batch in the shared signal array so that a waiting caller wakes up.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { decodeJsonText, SIGNAL_DONE, type HelperBatch, type HelperResult } from './decode-many.js';
import type { UnknownField } from './render-proto.js';

const { port, signal, index } = workerData as { port: MessagePort; signal: Int32Array; index: number };

parentPort!.on('message', (b: HelperBatch) => {
  const data = Buffer.from(b.data);
  const texts: string[] = [];
  const lens = new Int32Array(b.ends.length);
  const problems: [number, string][] = [];
  const unknown: [number, UnknownField[]][] = [];
  let start = 0;
  for (let i = 0; i < b.ends.length; i++) {
    const end = b.ends[i]!;
    try {
      const r = decodeJsonText(data.subarray(start, end), b.keys[i]!, b.revs[i], b.text);
      texts.push(r.json);
      lens[i] = r.json.length;
      if (r.unknownFields.length > 0) unknown.push([i, r.unknownFields]);
    } catch (e) {
      lens[i] = -1;
      problems.push([i, (e as Error).message]);
    }
    start = end;
  }
  // One string per batch: cloning it is one copy, where one string per object costs a copy each.
  const answer: HelperResult = { id: b.id, text: texts.join(''), lens, problems, unknown };
  port.postMessage(answer);
  Atomics.add(signal, SIGNAL_DONE, 1);
  Atomics.notify(signal, SIGNAL_DONE);
});
Atomics.store(signal, 1 + index, 1);
Atomics.notify(signal, SIGNAL_DONE);
