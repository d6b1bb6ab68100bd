import { z } from 'zod';
import type { RawPoint, ReadingStore } from '../ingest/index.js';
import { METER_ID, SENSOR_ID } from './entries.js';
import { documentId } from './translation.js';

/** How far back GET /entries looks: a week of 5-minute CGM readings is about 2,000 points. */
const WINDOW_MS = 7 * 86_400_000;

export const nightscoutEntrySchema = z.object({
  _id: z.string(),
  type: z.enum(['sgv', 'mbg']),
  sgv: z.number().optional().describe('sensor glucose, mg/dL'),
  mbg: z.number().optional().describe('meter glucose, mg/dL'),
  date: z.number().describe('epoch ms'),
  dateString: z.string(),
  device: z.string(),
});
export type NightscoutEntry = z.output<typeof nightscoutEntrySchema>;

function toEntry(deviceId: string, p: RawPoint): NightscoutEntry {
  const sensor = p.tags.source === 'cgm';
  // Nightscout entries carry whole mg/dL.
  const value = Math.round(p.fields.value!);
  return {
    _id: documentId(deviceId, sensor ? SENSOR_ID : METER_ID, p.time),
    type: sensor ? 'sgv' : 'mbg',
    ...(sensor ? { sgv: value } : { mbg: value }),
    date: p.time,
    dateString: new Date(p.time).toISOString(),
    device: `vigil:${deviceId}`,
  };
}

/**
 * GET /api/v1/entries(.json): the device's newest glucose readings of the last week as Nightscout entries, newest
 * first (Nightscout's order), from the reading store (readings still in the outbox show once shipped). HI and LO
 * flags have no value and are left out.
 */
export async function readEntries(
  readings: Pick<ReadingStore, 'queryRaw'>,
  patientId: string | null,
  deviceId: string,
  count: number,
  now = Date.now(),
): Promise<NightscoutEntry[]> {
  if (patientId === null) return [];
  const points = await readings.queryRaw({ patientId, type: 'glucose', from: now - WINDOW_MS, to: now + 3_600_000 });
  return points
    .filter((p) => p.deviceId === deviceId && p.fields.value !== undefined)
    // Oldest first, a meter reading after the sensor reading of the same moment: the same order on every store.
    .sort((a, b) => a.time - b.time || (a.tags.source ?? '').localeCompare(b.tags.source ?? ''))
    .slice(-count)
    .reverse()
    .map((p) => toEntry(deviceId, p));
}
