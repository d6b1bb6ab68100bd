import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { listSegments, OUTBOX_DIR, readCheckpoint, segmentPath } from '../../ingest/index.js';

/**
 * The outbox's records the shipper has not stored yet, segment by segment: what follows the checkpoint.
 * Read-only (a running server owns the outbox).
 */
async function* unshipped(dataDir: string): AsyncGenerator<Buffer> {
  const dir = join(dataDir, OUTBOX_DIR);
  const checkpoint = await readCheckpoint(dir).catch(() => undefined);
  const from = checkpoint === undefined || checkpoint === 'damaged' ? { segment: 0, offset: 0 } : checkpoint;
  const segments = await listSegments(dir).catch(() => [] as number[]);
  for (const segment of segments.filter((s) => s >= from.segment)) {
    const handle = await open(segmentPath(dir, segment), 'r').catch(() => undefined);
    if (!handle) continue;
    try {
      const bytes = await handle.readFile();
      yield bytes.subarray(segment === from.segment ? from.offset : 0);
    } finally {
      await handle.close();
    }
  }
}

/**
 * Whether the outbox still holds readings of a patient that the shipper has not stored yet: a search of the
 * records after the checkpoint for the patient's id as the record codec writes it.
 */
export async function outboxHoldsPatient(dataDir: string, patientId: string): Promise<boolean> {
  const needle = Buffer.from(`"patientId":${JSON.stringify(patientId)}`);
  for await (const bytes of unshipped(dataDir)) if (bytes.includes(needle)) return true;
  return false;
}

/** Whether the outbox holds any reading not yet stored (a retired worker's data dir may go only once it does not). */
export async function outboxHoldsReadings(dataDir: string): Promise<boolean> {
  for await (const bytes of unshipped(dataDir)) if (bytes.length > 0) return true;
  return false;
}
