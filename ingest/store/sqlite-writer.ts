/**
 * The embedded store's writer, in a worker thread: inserting a batch and the fsync of its commit take tens of
 * milliseconds, during which the main thread would answer no device (no PUBACK, no socket read). Here they run
 * beside it. One message in, one answer out, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Reading } from '../../domain/index.js';
import { openReadingsDb, readingsWriter } from './sqlite-layout.js';

export type WriterRequest = { readonly id: number; readonly readings: readonly Reading[] } | { readonly id: number; readonly close: true };
export type WriterAnswer = { readonly id: number; readonly error?: string };

const port = parentPort!;
const db = openReadingsDb((workerData as { file: string }).file);
const write = readingsWriter(db);

port.on('message', (request: WriterRequest) => {
  if ('close' in request) {
    db.close();
    port.postMessage({ id: request.id } satisfies WriterAnswer);
    port.close();
    return;
  }
  try {
    write(request.readings);
    port.postMessage({ id: request.id } satisfies WriterAnswer);
  } catch (err) {
    port.postMessage({ id: request.id, error: (err as Error).message } satisfies WriterAnswer);
  }
});
