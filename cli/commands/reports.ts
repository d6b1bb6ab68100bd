import type { Command } from 'commander';
import { patientOverrides, type StoredOverride } from '../../alerts/index.js';
import { openState } from '../../app/state.js';
import { VigilError, type GlucoseReport, type HomeBpReport, type WeightReport } from '../../domain/index.js';
import { InfluxStore, SqliteStore, type ReadingStore } from '../../ingest/index.js';
import { glucoseReport, homeBpReport, homeBpRuleFor, MAX_REPORT_DAYS, weightReport, weightRuleFor, type ReportPatient } from '../../reports/index.js';
import { ARG, examples } from '../args.js';
import { registerProgrammeReport } from './programme-report.js';
import { action, isoOrDash, printTable } from '../run.js';
import { DATA_DIR_HELP, stateConfig } from '../state-config.js';

interface ReportOptions {
  patient: string;
  days?: string;
  json?: boolean;
  dataDir?: string;
}

function daysOf(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const days = Number(text);
  if (!Number.isInteger(days) || days < 1 || days > MAX_REPORT_DAYS) throw new VigilError('VIGIL_ERR_CONFIG', `--days must be a whole number from 1 to ${MAX_REPORT_DAYS}`);
  return days;
}

/** Opens the patient and the reading store as `vigil start` would, runs the report, closes both. */
async function withPatient<T>(opts: ReportOptions, run: (store: ReadingStore, patient: ReportPatient, overrides: StoredOverride[]) => Promise<T>): Promise<T> {
  const config = stateConfig(opts.dataDir);
  const { db, registry } = openState(config.dataDir);
  try {
    const patient = registry.getPatient(opts.patient);
    if (!patient) throw new VigilError('VIGIL_ERR_NOT_FOUND', `patient ${opts.patient} does not exist`);
    const store: ReadingStore = config.influx ? await InfluxStore.open(config.influx) : new SqliteStore(config.dataDir);
    try {
      return await run(store, patient, patientOverrides(db, patient.id, Date.now()));
    } finally {
      await store.close();
    }
  } finally {
    db.close();
  }
}

const verdict = (met: boolean | null) => (met === null ? '-' : met ? 'met' : 'not met');

function printGlucose(r: GlucoseReport): void {
  // source is 'none' when the period has neither CGM nor meter readings ("0 none readings" read as a bug).
  const readings = r.source === 'none' ? 'no glucose readings' : `${r.readings} ${r.source} readings`;
  process.stdout.write(`Glucose report, ${r.patientId}, ${isoOrDash(r.from)} to ${isoOrDash(r.to)} (${r.days} days, ${r.timeZone}): ${readings}\n`);
  printTable(r.ranges.map((x) => ({ range: x.label, readings: x.count, percent: x.percent })));
  process.stdout.write(`mean ${r.meanMgdl ?? '-'} mg/dL, SD ${r.sdMgdl ?? '-'} mg/dL, GMI ${r.gmiPercent ?? '-'} %\n\n`);
  printTable(r.targets.map((t) => ({ figure: t.label, value: t.value === null ? null : `${t.value} ${t.unit}`, target: `${t.op} ${t.limit} ${t.unit}`, verdict: verdict(t.met) })));
  if (r.agp) {
    process.stdout.write('\nAmbulatory glucose profile (mg/dL by local hour)\n');
    printTable(r.agp.bins.map((b) => ({ hour: `${String(b.minute / 60).padStart(2, '0')}:00`, n: b.count, p5: b.p5, p25: b.p25, p50: b.p50, p75: b.p75, p95: b.p95 })));
  }
}

function printHomeBp(r: HomeBpReport): void {
  const p = r.protocol;
  process.stdout.write(`Home BP report, ${r.patientId}, ${isoOrDash(r.from)} to ${isoOrDash(r.to)} (${r.days} days, ${r.timeZone}): ${r.readings} readings\n`);
  const average = p.systolic === null ? '-' : `${p.systolic}/${p.diastolic} mmHg`;
  process.stdout.write(`7-day protocol average: ${average} over ${p.days} days, ${p.sessions} sessions${p.discardedDay ? ` (day 1, ${p.discardedDay}, discarded)` : ''}\n`);
  process.stdout.write(`category: ${r.categoryLabel}\n`);
  process.stdout.write(`readings at or above ${r.aboveTarget.systolic}/${r.aboveTarget.diastolic}: ${r.aboveTarget.count} (${r.aboveTarget.percent ?? '-'} %)\n\n`);
  printTable(r.weeks.map((w) => ({ week: isoOrDash(w.from).slice(0, 10), readings: w.readings, systolic: w.systolic, diastolic: w.diastolic })));
}

function printWeight(r: WeightReport): void {
  process.stdout.write(`Weight report, ${r.patientId}, ${isoOrDash(r.from)} to ${isoOrDash(r.to)} (${r.days} days, ${r.timeZone}): ${r.weighedDays} days with a morning weight\n`);
  process.stdout.write(`baseline: ${r.baseline.kg ?? '-'} kg (${r.baseline.label})${r.ruleEnabled ? '' : '; the weight-gain alert is off for this patient'}\n`);
  process.stdout.write(`windows: ${r.windows.map((w) => `> ${w.riseKg} kg in ${w.days} day${w.days === 1 ? '' : 's'}`).join(', ')}; ${r.alertDays} days past one\n\n`);
  const alert = (d: WeightReport['daily'][number]) =>
    d.alert ? `+${d.alert.riseKg} kg ${d.alert.windowDays === null ? 'over the dry weight' : `since ${d.alert.windowFrom}`} (limit ${d.alert.limitKg})` : null;
  printTable(r.daily.map((d) => ({ day: d.date, kg: d.kg, baseline: d.baselineKg, above: d.aboveBaselineKg, alert: alert(d) })));
}

/** `vigil reports glucose|home-bp|weight`: a patient's report from the reading store (docs/reports.md). */
export function registerReports(program: Command): void {
  const reports = examples(
    program.command('reports').description("a patient's glucose, home blood pressure or heart-failure weight report, and the programme report (docs/reports.md)"),
    'vigil reports glucose --patient pat-1a2b3c --days 14',
    'vigil reports home-bp --patient pat-1a2b3c --days 28 --json',
  );
  registerProgrammeReport(reports);
  const common = (cmd: Command, days: number) =>
    cmd
      .requiredOption('--patient <id>', 'patient id', ARG.patientId)
      .option('--days <n>', `local days before now, 1-${MAX_REPORT_DAYS} (default ${days})`)
      .option('--json', 'print the report as JSON (the API answer)')
      .option('--data-dir <dir>', DATA_DIR_HELP);
  examples(common(reports.command('glucose').description('time in ranges, mean, GMI, CV, CGM wear and the ambulatory glucose profile'), 14), 'vigil reports glucose --patient pat-1a2b3c --days 14')
    .action(
      action(async (opts: ReportOptions) => {
        const days = daysOf(opts.days, 14);
        const report = await withPatient(opts, (store, patient) => glucoseReport(store, patient, days, Date.now()));
        if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
        else printGlucose(report);
      }),
    );
  examples(
    common(reports.command('home-bp').description('7-day home BP protocol average (day 1 discarded), category, readings above the line, weekly means'), 7),
    'vigil reports home-bp --patient pat-1a2b3c --days 28 --json',
  )
    .action(
      action(async (opts: ReportOptions) => {
        const days = daysOf(opts.days, 7);
        const report = await withPatient(opts, (store, patient, overrides) => homeBpReport(store, patient, days, Date.now(), homeBpRuleFor(overrides)));
        if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
        else printHomeBp(report);
      }),
    );
  examples(
    common(reports.command('weight').description("daily morning weight against the baseline or dry weight, with the weight-gain alert windows marked"), 30),
    'vigil reports weight --patient pat-1a2b3c --days 30',
  ).action(
    action(async (opts: ReportOptions) => {
      const days = daysOf(opts.days, 30);
      const report = await withPatient(opts, (store, patient, overrides) => weightReport(store, patient, days, Date.now(), weightRuleFor(overrides)));
      if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
      else printWeight(report);
    }),
  );
}
