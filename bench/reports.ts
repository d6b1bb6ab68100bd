/**
 * Reports over a year of CGM: one patient with 365 days of 5-minute readings (105,120 points) in the embedded
 * store and, where Debian's influxd is installed, in InfluxDB. Measures the glucose report (14 and 90 days), the
 * store's distribution query over the whole year, and, for comparison, loading the year's raw points into
 * JavaScript (what the report avoids for the range shares, mean and SD); and the programme report's row, whose
 * days with readings are existence probes per local day, not a month of points.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Reading } from '../domain/index.js';
import { InfluxStore, SqliteStore, type ReadingStore } from '../ingest/index.js';
import { glucoseReport, programmeRow } from '../reports/index.js';
import { summarise, type Summary } from './stats.js';
import { startInfluxd } from './targets.js';

const DAYS = Number(process.env.BENCH_REPORTS_DAYS ?? 365);
const STEP = 5 * 60_000;
const RUNS = 7;
const PATIENT = 'pt-cgm-year';

function year(now: number): Reading[] {
  const readings: Reading[] = [];
  const start = now - DAYS * 86_400_000;
  for (let time = start, i = 0; time < now; time += STEP, i += 1) {
    // A daily swing around 150 mg/dL with meals and a little noise (a fixed sequence, no randomness).
    const value = Math.round(150 + 60 * Math.sin((i / 288) * 2 * Math.PI) + 40 * Math.sin(i / 7) + ((i * 7919) % 31) - 15);
    readings.push({ type: 'glucose', deviceId: 'cgm-1', patientId: PATIENT, time, receivedAt: time, late: false, fields: { value }, tags: { source: 'cgm' } });
  }
  return readings;
}

async function timed(run: () => Promise<unknown>): Promise<Summary> {
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i += 1) {
    const t0 = performance.now();
    await run();
    ms.push(performance.now() - t0);
  }
  return summarise(ms);
}

export interface ReportsBenchRow {
  readonly store: string;
  readonly report14: Summary;
  readonly report90: Summary;
  readonly distributionYear: Summary;
  readonly rawYear: Summary;
  /** The programme report's row: the days of the current 30-day period with a reading (one probe per day). */
  readonly programme: Summary;
}

async function measure(name: string, store: ReadingStore, readings: readonly Reading[], now: number): Promise<ReportsBenchRow> {
  const t0 = performance.now();
  for (let i = 0; i < readings.length; i += 5000) await store.write(readings.slice(i, i + 5000));
  process.stderr.write(`bench: ${readings.length} readings written to ${name} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  const patient = { id: PATIENT, timeZone: 'Europe/London' };
  const from = now - DAYS * 86_400_000;
  return {
    store: name,
    report14: await timed(() => glucoseReport(store, patient, 14, now)),
    report90: await timed(() => glucoseReport(store, patient, 90, now)),
    distributionYear: await timed(() =>
      store.queryDistribution({ patientId: PATIENT, type: 'glucose', from, to: now + 1, field: 'value', tags: { source: 'cgm' }, ranges: [{ lt: 54 }, { gte: 54, lt: 70 }, { gte: 70, lte: 180 }, { gt: 180, lte: 250 }, { gt: 250 }] }),
    ),
    rawYear: await timed(() => store.queryRaw({ patientId: PATIENT, type: 'glucose', from, to: now + 1 })),
    programme: await timed(() => programmeRow(store, { ...patient, name: 'bench', careTeam: null, createdAt: from, enrolledAt: { diabetes: from } }, [], now)),
  };
}

export async function benchReports(): Promise<ReportsBenchRow[]> {
  const now = Date.now();
  const readings = year(now);
  const rows: ReportsBenchRow[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'vigil-bench-reports-'));
  const sqlite = new SqliteStore(dir);
  try {
    rows.push(await measure('embedded (SQLite)', sqlite, readings, now));
  } finally {
    await sqlite.close();
    await rm(dir, { recursive: true, force: true });
  }
  const influxd = await startInfluxd();
  if (influxd) {
    try {
      const influx = await InfluxStore.open({ url: influxd.url, database: 'vigil', timeoutMs: 120_000 });
      rows.push(await measure('InfluxDB 1.x', influx, readings, now));
    } finally {
      await influxd.stop();
    }
  }
  return rows;
}

export function reportsTable(rows: readonly ReportsBenchRow[]): string {
  const ms = (s: Summary) => `${s.p50.toFixed(0)} ms (worst ${s.p99.toFixed(0)})`;
  return [
    `| store | glucose report, 14 days | glucose report, 90 days | distribution of a year (store) | a year of raw points into JavaScript | programme row (days of a 30-day period) |`,
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.store} | ${ms(r.report14)} | ${ms(r.report90)} | ${ms(r.distributionYear)} | ${ms(r.rawYear)} | ${ms(r.programme)} |`),
  ].join('\n');
}
