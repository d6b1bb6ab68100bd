import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { keyOf, type Reading } from '../../domain/index.js';
import { decodeRecords, listSegments, patientMarker, OUTBOX_DIR, readCheckpoint, segmentPath, STORED_TAGS, type RawPoint, type RangeQuery, type ReadingStore } from '../../ingest/index.js';

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
  const needle = patientMarker(patientId);
  for await (const bytes of unshipped(dataDir)) if (bytes.includes(needle)) return true;
  return false;
}

/**
 * The patient's readings in the outbox that the shipper has not stored yet, in the order they were acknowledged:
 * acknowledged readings are the patient's data as much as the stored ones (the right of access). Damaged lines
 * and a line still being written are skipped (never acknowledged, or set aside by the server as damage).
 */
export async function outboxReadingsOf(dataDir: string, patientId: string): Promise<Reading[]> {
  const needle = patientMarker(patientId);
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

/**
 * What tells a stored copy of an outbox reading from another reading: a reading still behind the outbox's
 * checkpoint may be stored already (the checkpoint is written at most once a second, and a shipment may be
 * under way). Stored points do not carry the device's message id, so a point is known by all it does carry:
 * time, device, tags and values.
 */
function pointKey(p: RawPoint): string {
  const sorted = (o: Readonly<Record<string, unknown>>) => JSON.stringify(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return `${p.time}|${p.deviceId}|${sorted(p.tags)}|${sorted(p.fields)}`;
}

/** An outbox reading as the store would give it back: its tags only those the store keeps for its type. */
function asPoint(r: Reading): RawPoint {
  const known = STORED_TAGS[r.type];
  return { time: r.time, deviceId: r.deviceId, fields: r.fields, tags: Object.fromEntries(Object.entries(r.tags).filter(([k]) => known.includes(k))) };
}

/** The stored points of a range and the outbox's readings in it not among them, each once, oldest first. */
function mergePoints(stored: readonly RawPoint[], queued: readonly Reading[], q: RangeQuery): RawPoint[] {
  const inStore = new Set(stored.map(pointKey));
  // A device that sent a message twice (a reconnect before its PUBACK) has it twice in the outbox, under one
  // reading key, while the store keeps it once.
  const taken = new Set<string>();
  const merged = [...stored];
  for (const r of queued) {
    if (r.type !== q.type || r.time < q.from || r.time >= q.to) continue;
    const key = keyOf(r);
    if (taken.has(key)) continue;
    taken.add(key);
    const point = asPoint(r);
    if (!inStore.has(pointKey(point))) merged.push(point);
  }
  // Stable: stored points keep the store's order among equal times.
  return merged.sort((a, b) => a.time - b.time);
}

/**
 * The store's raw readings of one patient with those of the outbox (acknowledged, not yet stored) merged in,
 * each once: what an export of the patient's readings reads (the CSV export, the FHIR one). The outbox is read
 * here, before any query of the store: a reading shipped in between is then found in the store and merged once;
 * read the other way round, it could leave the outbox after the store was read, and be in neither. A query's
 * limit holds for the merged readings (the first `limit` of them are among the store's first `limit` and the
 * outbox's). Another patient's queries go to the store alone.
 */
export async function withOutboxReadings(store: Pick<ReadingStore, 'queryRaw'>, dataDir: string, patientId: string): Promise<Pick<ReadingStore, 'queryRaw'>> {
  const queued = await outboxReadingsOf(dataDir, patientId);
  return {
    async queryRaw(q) {
      const stored = await store.queryRaw(q);
      if (q.patientId !== patientId || queued.length === 0) return stored;
      const merged = mergePoints(stored, queued, q);
      // As the stores read it: no limit, or 0, is none.
      return q.limit ? merged.slice(0, Math.floor(q.limit)) : merged;
    },
  };
}
