import type { SqlClient } from '../../state/index.js';
import type { SharedLastReadings } from '../evaluation.js';

/** Entries per statement: three parameters each. */
const CHUNK = 500;
/** PostgreSQL's clock, in epoch milliseconds: every instance's reads and writes of changed_at use the same clock. */
const NOW = '(extract(epoch from clock_timestamp()) * 1000)::bigint';
/**
 * How far back each read looks before the previous read's time: a save that took its changed_at just before that
 * read and committed just after it (one statement: milliseconds) is still read next time.
 */
const OVERLAP_MS = 60_000;

/**
 * The newest measurement time per patient and series in PostgreSQL, which every instance's sweep reads: a worker
 * takes only some of a patient's readings. A time only moves forward; a patient erased meanwhile is skipped (the
 * table refers to the registry's patients). Each read asks only for what changed since the previous one (the
 * sweep keeps what it read before), so a sweep costs what changed, not the size of the programme.
 */
export function sharedLastReadings(client: SqlClient): SharedLastReadings {
  let readUpTo: number | undefined;
  return {
    async save(entries) {
      for (let i = 0; i < entries.length; i += CHUNK) {
        const chunk = entries.slice(i, i + CHUNK).map(([key, time]) => {
          const at = key.indexOf('\u0000');
          return [key.slice(0, at), key.slice(at + 1), time] as const;
        });
        await client.query(
          `INSERT INTO last_readings (patient_id, series, time, changed_at)
           SELECT v.patient_id, v.series, v.time, ${NOW} FROM (VALUES ${chunk.map(() => '(?::text, ?::text, ?::bigint)').join(', ')}) AS v(patient_id, series, time)
           WHERE EXISTS (SELECT 1 FROM patients p WHERE p.id = v.patient_id)
           ON CONFLICT (patient_id, series) DO UPDATE SET time = excluded.time, changed_at = excluded.changed_at
           WHERE last_readings.time < excluded.time`,
          chunk.flat(),
        );
      }
    },
    async load() {
      const now = (await client.query<{ now: number }>(`SELECT ${NOW} AS now`)).rows[0]!.now;
      const { rows } = await client.query<{ patientId: string; series: string; time: number }>(
        'SELECT patient_id AS "patientId", series, time FROM last_readings WHERE changed_at >= ?',
        [readUpTo === undefined ? 0 : readUpTo - OVERLAP_MS],
      );
      readUpTo = now;
      return new Map(rows.map((r) => [`${r.patientId}\u0000${r.series}`, r.time]));
    },
  };
}
