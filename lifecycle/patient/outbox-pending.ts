import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { listSegments, OUTBOX_DIR, readCheckpoint, segmentPath } from '../../ingest/index.js';

/**
 * Whether the outbox still holds readings of a patient that the shipper has not stored yet. Read-only (the
 * running server owns the outbox): a search of the records after the checkpoint for the patient's id as the
 * record codec writes it.
 */
export async function outboxHoldsPatient(dataDir: string, patientId: string): Promise<boolean> {
  const dir = join(dataDir, OUTBOX_DIR);
  const checkpoint = await readCheckpoint(dir).catch(() => undefined);
  const from = checkpoint === undefined || checkpoint === 'damaged' ? { segment: 0, offset: 0 } : checkpoint;
  const needle = Buffer.from(`"patientId":${JSON.stringify(patientId)}`);
  const segments = await listSegments(dir).catch(() => [] as number[]);
  for (const segment of segments.filter((s) => s >= from.segment)) {
    const handle = await open(segmentPath(dir, segment), 'r').catch(() => undefined);
    if (!handle) continue;
    try {
      const bytes = await handle.readFile();
      if (bytes.subarray(segment === from.segment ? from.offset : 0).includes(needle)) return true;
    } finally {
      await handle.close();
    }
  }
  return false;
}
