import type { Command } from 'commander';
import { AlertTable } from '../../alerts/index.js';
import { openState } from '../../app/state.js';
import { VigilError, type ProgrammeReport } from '../../domain/index.js';
import { InfluxStore, SqliteStore, type ReadingStore } from '../../ingest/index.js';
import { programmeReport, programmeReportCsv, PROGRAMME_SORTS, type ProgrammeSort } from '../../reports/index.js';
import { ARG, examples, oneOf } from '../args.js';
import { action, printTable } from '../run.js';
import { DATA_DIR_HELP, stateConfig } from '../state-config.js';

interface ProgrammeOptions {
  patient?: string;
  careTeam?: string;
  sort: ProgrammeSort;
  order: 'asc' | 'desc';
  json?: boolean;
  csv?: boolean;
  dataDir?: string;
}

/** A patient's alerts the report reads, as the API reads them. */
const ALERTS_PER_PATIENT = 1000;

async function run(opts: ProgrammeOptions): Promise<ProgrammeReport> {
  const config = stateConfig(opts.dataDir);
  const { db, registry } = openState(config.dataDir);
  try {
    let patients = registry.listPatients();
    if (opts.patient !== undefined) {
      patients = patients.filter((p) => p.id === opts.patient);
      if (patients.length === 0) throw new VigilError('VIGIL_ERR_NOT_FOUND', `patient ${opts.patient} does not exist`);
    }
    if (opts.careTeam !== undefined) patients = patients.filter((p) => p.careTeam === opts.careTeam);
    const alerts = new AlertTable(db);
    const store: ReadingStore = config.influx ? await InfluxStore.open(config.influx) : new SqliteStore(config.dataDir);
    try {
      return await programmeReport(store, patients, (id) => alerts.list({ patientId: id, limit: ALERTS_PER_PATIENT }), Date.now(), opts.sort, opts.order === 'desc');
    } finally {
      await store.close();
    }
  } finally {
    db.close();
  }
}

function print(r: ProgrammeReport): void {
  process.stdout.write(`Programme report: ${r.rows.length} patients, each over their current 30-day period (${r.sort})\n`);
  printTable(
    r.rows.map((x) => ({
      patient: x.patientId,
      name: x.name,
      period: `${x.period.from}..${x.period.to}`,
      elapsed: x.period.elapsedDays,
      days: x.daysWithReadings,
      code: x.code ?? '-',
      '16 reachable': x.can16 ? 'yes' : 'no',
      acked: x.alerts.acknowledged,
      resolved: x.alerts.resolvedByPerson,
      notes: x.alerts.notes,
      'ack-to-resolve min': x.alerts.elapsedMinutes,
    })),
  );
  process.stdout.write('\nDays: distinct local days with a device reading (CMS 99454 at 16-30, 99445 at 2-15). Minutes are elapsed time from acknowledgement to resolution, not time spent.\n');
}

/** `vigil reports programme`: the programme table (docs/reports.md), for every patient or one. */
export function registerProgrammeReport(reports: Command): void {
  examples(
    reports
      .command('programme')
      .description('days with readings in each patient\'s current 30-day period (CMS 99454 / 99445) and alert work, one row per patient')
      .option('--patient <id>', 'one patient', ARG.patientId)
      .option('--care-team <team>', "only this care team's patients", ARG.careTeam)
      .option('--sort <key>', `sort by ${PROGRAMME_SORTS.join(', ')}`, oneOf(PROGRAMME_SORTS), 'days')
      .option('--order <order>', 'asc or desc', oneOf(['asc', 'desc'] as const), 'asc')
      .option('--json', 'print the report as JSON (the API answer)')
      .option('--csv', 'print the report as CSV (the download)')
      .option('--data-dir <dir>', DATA_DIR_HELP),
    'vigil reports programme --care-team cardiology --sort days',
    'vigil reports programme --csv > programme.csv',
  ).action(
    action(async (opts: ProgrammeOptions) => {
      const report = await run(opts);
      if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
      else if (opts.csv) process.stdout.write(programmeReportCsv(report));
      else print(report);
    }),
  );
}
