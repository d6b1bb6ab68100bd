import { csvLines, type ProgrammeReport, type ProgrammeRow } from '../domain/index.js';
import { CMS_2026_SOURCE } from './programme-definitions.js';
import { programmeRow, type ProgrammeAlert, type ProgrammePatient, type ProgrammeReadings } from './programme-report.js';

export const PROGRAMME_SORTS = ['days', 'name', 'patient', 'code', 'acknowledged', 'minutes'] as const;
export type ProgrammeSort = (typeof PROGRAMME_SORTS)[number];

const CODE_RANK = { '99454': 2, '99445': 1 } as const;

const KEYS: Record<ProgrammeSort, (r: ProgrammeRow) => number | string> = {
  days: (r) => r.daysWithReadings,
  name: (r) => r.name.toLocaleLowerCase(),
  patient: (r) => r.patientId,
  code: (r) => (r.code ? CODE_RANK[r.code] : 0),
  acknowledged: (r) => r.alerts.acknowledged,
  minutes: (r) => r.alerts.elapsedMinutes,
};

/** Rows in the order asked, ties by patient id (a stable order for the same data). */
export function sortProgrammeRows(rows: readonly ProgrammeRow[], sort: ProgrammeSort, descending: boolean): ProgrammeRow[] {
  const key = KEYS[sort];
  return [...rows].sort((a, b) => {
    const x = key(a);
    const y = key(b);
    const c = x < y ? -1 : x > y ? 1 : 0;
    return (descending ? -c : c) || (a.patientId < b.patientId ? -1 : a.patientId > b.patientId ? 1 : 0);
  });
}

/**
 * The care team's table: one row per patient, each over that patient's own current 30-day period. Patients one
 * at a time (a few dozen index probes each), so a large programme never holds every reading in memory.
 */
export async function programmeReport(
  store: ProgrammeReadings,
  patients: readonly ProgrammePatient[],
  alertsOf: (patientId: string) => readonly ProgrammeAlert[],
  now: number,
  sort: ProgrammeSort = 'days',
  descending = false,
): Promise<ProgrammeReport> {
  const rows: ProgrammeRow[] = [];
  for (const p of patients) rows.push(await programmeRow(store, p, alertsOf(p.id), now));
  return { generatedAt: now, sort: `${sort} ${descending ? 'desc' : 'asc'}`, rows: sortProgrammeRows(rows, sort, descending), source: CMS_2026_SOURCE };
}

/** The table as CSV, one row per patient. */
export function programmeReportCsv(r: ProgrammeReport): string {
  return csvLines([
    [
      'patient',
      'name',
      'care team',
      'time zone',
      'monitoring from',
      'period',
      'period from',
      'period to',
      'days elapsed',
      'days with readings',
      'code reached',
      '16 days still reachable',
      'alerts acknowledged',
      'alerts resolved by a person',
      'notes',
      'alerts handled',
      'elapsed minutes acknowledged to resolved',
    ],
    ...r.rows.map((x) => [
      x.patientId,
      x.name,
      x.careTeam,
      x.timeZone,
      x.monitoringFrom,
      x.period.index,
      x.period.from,
      x.period.to,
      x.period.elapsedDays,
      x.daysWithReadings,
      x.code,
      x.can16,
      x.alerts.acknowledged,
      x.alerts.resolvedByPerson,
      x.alerts.notes,
      x.alerts.handled,
      x.alerts.elapsedMinutes,
    ]),
  ]);
}
