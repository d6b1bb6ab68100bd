/**
 * The embedded store's writer, in a worker thread: inserting a batch and the fsync of its commit take tens of
 * milliseconds, during which the main thread would answer no device (no PUBACK, no socket read). Here they run
 * beside it, and so do the deletes of retention and erasure. One message in, one answer out, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openReadingsDb, readingsDeleter, readingsWriter, type StoredRow } from './sqlite-layout.js';

export type WriterRequest =
  | { readonly id: number; readonly rows: readonly StoredRow[] }
  | { readonly id: number; readonly purge: { readonly patientId: string; readonly before: number; readonly limit: number } }
  | { readonly id: number; readonly erase: string }
  | { readonly id: number; readonly close: true };
/** `changes`: rows a delete removed. */
export type WriterAnswer = { readonly id: number; readonly changes?: number; readonly error?: string };

const port = parentPort!;
const db = openReadingsDb((workerData as { file: string }).file);
const write = readingsWriter(db);
const deleter = readingsDeleter(db);

function perform(request: Exclude<WriterRequest, { close: true }>): number | undefined {
  if ('rows' in request) {
    write(request.rows);
    return undefined;
  }
  if ('purge' in request) return deleter.purgeBefore(request.purge.patientId, request.purge.before, request.purge.limit);
  return deleter.erase(request.erase);
}

port.on('message', (request: WriterRequest) => {
  if ('close' in request) {
    db.close();
    port.postMessage({ id: request.id } satisfies WriterAnswer);
    port.close();
    return;
  }
  try {
    port.postMessage({ id: request.id, changes: perform(request) } satisfies WriterAnswer);
  } catch (err) {
    port.postMessage({ id: request.id, error: (err as Error).message } satisfies WriterAnswer);
  }
});
