import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Reading } from '../../domain/index.js';
import { decodeRecords, listSegments, OUTBOX_DIR, readCheckpoint, segmentPath } from '../../ingest/index.js';

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

/**
 * The patient's readings in the outbox that the shipper has not stored yet, in the order they were acknowledged:
 * acknowledged readings are the patient's data as much as the stored ones (the right of access). Damaged lines
 * and a line still being written are skipped (never acknowledged, or set aside by the server as damage).
 */
export async function outboxReadingsOf(dataDir: string, patientId: string): Promise<Reading[]> {
  const needle = Buffer.from(`"patientId":${JSON.stringify(patientId)}`);
  const found: Reading[] = [];
  for await (const bytes of unshipped(dataDir)) {
    // Most segments hold nobody's readings but other patients': skip those without decoding them.
    if (!bytes.includes(needle)) continue;
    for (const r of decodeRecords(bytes).records) if (r.patientId === patientId) found.push(r);
  }
  return found;
}

/** Whether the outbox holds any reading not yet stored (a retired worker's data dir may go only once it does not). */
export async function outboxHoldsReadings(dataDir: string): Promise<boolean> {
  for await (const bytes of unshipped(dataDir)) if (bytes.length > 0) return true;
  return false;
}
