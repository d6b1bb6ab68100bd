import type { InfluxHttp, InfluxSeries } from './influx-http.js';
import { checkDistributionQuery, type Distribution, type DistributionQuery, type ValueRange } from './reading-store.js';

const BOUNDS = [
  ['gt', '>'],
  ['gte', '>='],
  ['lt', '<'],
  ['lte', '<='],
] as const;

function firstRow(series: InfluxSeries[]): Record<string, unknown> {
  const s = series[0];
  const values = s?.values[0];
  if (!s || !values) return {};
  return Object.fromEntries(s.columns.map((c, i) => [c, values[i]]));
}

/**
 * The distribution of one field in InfluxQL: COUNT, MEAN and STDDEV (sample SD) in one statement, a COUNT with
 * the value range in WHERE for each range, all in one request. The field and tag names were checked against
 * STORED_FIELDS and STORED_TAGS; `quoteIdent` and `quoteString` quote them all the same.
 */
export async function influxDistribution(
  http: InfluxHttp,
  q: DistributionQuery,
  where: string,
  quoteIdent: (name: string) => string,
  quoteString: (value: string) => string,
): Promise<Distribution> {
  checkDistributionQuery(q);
  const field = quoteIdent(q.field);
  const tagFilter = Object.entries(q.tags ?? {})
    .map(([key, value]) => ` AND ${quoteIdent(key)} = ${quoteString(value)}`)
    .join('');
  const from = `FROM ${quoteIdent(q.type)} ${where}${tagFilter}`;
  const rangeFilter = (r: ValueRange) =>
    BOUNDS.filter(([key]) => r[key] !== undefined)
      .map(([key, op]) => ` AND ${field} ${op} ${r[key]}`)
      .join('');
  const answers = await http.queryMany([
    `SELECT COUNT(${field}) AS n, MEAN(${field}) AS m, STDDEV(${field}) AS sd ${from}`,
    ...q.ranges.map((r) => `SELECT COUNT(${field}) AS n ${from}${rangeFilter(r)}`),
  ]);
  const stats = firstRow(answers[0] ?? []);
  const count = typeof stats.n === 'number' ? stats.n : 0;
  if (count === 0) return { count: 0, mean: null, stddev: null, inRanges: q.ranges.map(() => 0) };
  return {
    count,
    mean: typeof stats.m === 'number' ? stats.m : null,
    stddev: count >= 2 && typeof stats.sd === 'number' ? stats.sd : null,
    inRanges: q.ranges.map((_, i) => {
      const n = firstRow(answers[i + 1] ?? []).n;
      return typeof n === 'number' ? n : 0;
    }),
  };
}
