import { csvLines, glucoseLoinc, READING_CODES } from '../../domain/index.js';
import type { PatientPeriod } from './patient-period.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * The period's readings as CSV, one line per measured value (a blood pressure is three lines: systolic,
 * diastolic, pulse), so that every type fits one table a spreadsheet can filter: the time, the type, the
 * device, the field, its value, its UCUM unit and LOINC code (as in the FHIR export), and the reading's tags.
 */
export function readingsCsv(period: PatientPeriod): string {
  const rows: unknown[][] = [['time', 'type', 'device', 'field', 'value', 'unit', 'loinc', 'tags']];
  for (const r of period.readings) {
    const codes = READING_CODES[r.type];
    for (const [field, value] of Object.entries(r.fields)) {
      const code = codes.fields[field];
      const loinc = r.type === 'glucose' && field === 'value' ? glucoseLoinc(r.tags.source === 'cgm' ? 'cgm' : 'meter') : code?.loinc;
      rows.push([iso(r.time), r.type, r.deviceId, field, value, code?.ucum ?? null, loinc || null, Object.keys(r.tags).length ? r.tags : null]);
    }
  }
  return csvLines(rows);
}

/** The period's alerts as CSV, one line each, with who acknowledged and resolved them and their notes. */
export function alertsCsv(period: PatientPeriod): string {
  const rows: unknown[][] = [
    ['id', 'opened_at', 'severity', 'status', 'rule', 'title', 'message', 'first_observed_at', 'last_observed_at', 'acknowledged_at', 'acknowledged_by', 'acknowledge_note', 'resolved_at', 'resolved_by', 'resolve_note'],
  ];
  for (const a of period.alerts) {
    rows.push([a.id, iso(a.openedAt), a.severity, a.status, a.ruleId, a.title, a.message, iso(a.firstObservedAt), iso(a.lastObservedAt), iso(a.acknowledgedAt), a.acknowledgedBy, a.acknowledgeNote, iso(a.resolvedAt), a.resolvedBy, a.resolveNote]);
  }
  return csvLines(rows);
}
