import type { SqlClient } from '../../state/index.js';
import type { SharedLastReadings } from '../evaluation.js';

/** Entries per statement: three parameters each. */
const CHUNK = 500;

/**
 * The newest measurement time per patient and series in PostgreSQL, which every instance's sweep reads: a worker
 * takes only some of a patient's readings. A time only moves forward; a patient erased meanwhile is skipped (the
 * table refers to the registry's patients).
 */
export function sharedLastReadings(client: SqlClient): SharedLastReadings {
  return {
    async save(entries) {
      for (let i = 0; i < entries.length; i += CHUNK) {
        const chunk = entries.slice(i, i + CHUNK).map(([key, time]) => {
          const at = key.indexOf('\u0000');
          return [key.slice(0, at), key.slice(at + 1), time] as const;
        });
        await client.query(
          `INSERT INTO last_readings (patient_id, series, time)
           SELECT v.patient_id, v.series, v.time FROM (VALUES ${chunk.map(() => '(?::text, ?::text, ?::bigint)').join(', ')}) AS v(patient_id, series, time)
           WHERE EXISTS (SELECT 1 FROM patients p WHERE p.id = v.patient_id)
           ON CONFLICT (patient_id, series) DO UPDATE SET time = GREATEST(last_readings.time, excluded.time)`,
          chunk.flat(),
        );
      }
    },
    async load() {
      const { rows } = await client.query<{ patientId: string; series: string; time: number }>('SELECT patient_id AS "patientId", series, time FROM last_readings');
      return new Map(rows.map((r) => [`${r.patientId}\u0000${r.series}`, r.time]));
    },
  };
}
