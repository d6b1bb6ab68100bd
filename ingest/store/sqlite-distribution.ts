import type Database from 'better-sqlite3';
import { checkDistributionQuery, type Distribution, type DistributionQuery, type ValueRange } from './reading-store.js';

const BOUNDS = [
  ['gt', '>'],
  ['gte', '>='],
  ['lt', '<'],
  ['lte', '<='],
] as const;

/** `v >= @r0gte AND v < @r0lt`, its parameters added to `params`; an unbounded range is every value. */
function rangeCondition(range: ValueRange, i: number, params: Record<string, number | string>): string {
  const parts: string[] = [];
  for (const [key, op] of BOUNDS) {
    const bound = range[key];
    if (bound === undefined) continue;
    params[`r${i}${key}`] = bound;
    parts.push(`v ${op} @r${i}${key}`);
  }
  return parts.length > 0 ? parts.join(' AND ') : '1';
}

/**
 * The distribution of one field in SQL: a pass for the count and mean, a second for the squared deviations
 * from that mean and the range counts (two passes keep the SD exact where sum-of-squares minus square-of-sum
 * would cancel), both range scans of the patient's slice of the key.
 */
export function sqliteDistribution(db: Database.Database, q: DistributionQuery): Distribution {
  checkDistributionQuery(q);
  const params: Record<string, number | string> = { patient: q.patientId, type: q.type, from: q.from, to: q.to };
  const tagFilter = Object.entries(q.tags ?? {})
    .map(([key, value], i) => {
      params[`tag${i}`] = value;
      return ` AND tags ->> '$.${key}' = @tag${i}`;
    })
    .join('');
  const counts = q.ranges.map((r, i) => `, coalesce(sum(${rangeCondition(r, i, params)}), 0) AS r${i}`).join('');
  // Two statements, not one with the mean as a joined subquery: SQLite evaluated that once per row (quadratic).
  const present = `FROM (SELECT fields ->> '$.${q.field}' AS v FROM readings
         WHERE patient_id = @patient AND type = @type AND time >= @from AND time < @to${tagFilter}) WHERE v IS NOT NULL`;
  // One read transaction: both passes see the same snapshot (WAL), whatever the writer thread commits meanwhile.
  return db.transaction((): Distribution => {
    const stats = db.prepare(`SELECT count(v) AS n, avg(v) AS m ${present}`).get(params) as { n: number; m: number | null };
    const n = stats.n;
    if (n === 0 || stats.m === null) return { count: 0, mean: null, stddev: null, inRanges: q.ranges.map(() => 0) };
    const row = db.prepare(`SELECT sum((v - @mean) * (v - @mean)) AS ss${counts} ${present}`).get({ ...params, mean: stats.m }) as Record<string, number | null>;
    return {
      count: n,
      mean: stats.m,
      stddev: n >= 2 ? Math.sqrt((row.ss ?? 0) / (n - 1)) : null,
      inRanges: q.ranges.map((_, i) => row[`r${i}`] ?? 0),
    };
  })();
}
