import type { LatestReading } from './types.js';

const LABELS: Record<string, string> = {
  blood_pressure: 'Blood pressure',
  glucose: 'Glucose',
  weight: 'Weight',
  spo2: 'SpO₂',
  heart_rate: 'Heart rate',
  temperature: 'Temperature',
  steps: 'Steps',
  fall: 'Fall',
};

export const UNITS: Record<string, string> = {
  blood_pressure: 'mmHg',
  glucose: 'mg/dL',
  weight: 'kg',
  spo2: '%',
  heart_rate: 'bpm',
  temperature: '°C',
  steps: 'steps',
  fall: '',
};

export const PROGRAMME_LABELS: Record<string, string> = {
  hypertension: 'Hypertension',
  diabetes: 'Diabetes',
  heart_failure: 'Heart failure',
  copd: 'COPD',
};

export function typeLabel(type: string): string {
  return LABELS[type] ?? type;
}

/** "BP" in a worklist chip, where room is short; the full name everywhere else. */
export function shortTypeLabel(type: string): string {
  return type === 'blood_pressure' ? 'BP' : typeLabel(type);
}

function round(value: number | undefined, digits = 0): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  return value.toFixed(digits);
}

/**
 * A glucose meter's HI or LO: the value is outside what the meter can measure, so it sends no number. Shown as
 * words, never as a number (a LO is below the level 2 hypo line, a HI above the crisis line).
 */
function meterRange(r: Pick<LatestReading, 'type' | 'fields'>): string | undefined {
  if (r.type !== 'glucose') return undefined;
  if (r.fields.hi === 1) return 'HI (above meter range)';
  if (r.fields.lo === 1) return 'LO (below meter range)';
  return undefined;
}

/** "142/91", "6.2", "97", "HI (above meter range)": a reading's main value in its stored unit. */
export function readingValue(r: Pick<LatestReading, 'type' | 'fields'>): string {
  const f = r.fields;
  switch (r.type) {
    case 'blood_pressure':
      return `${round(f.systolic)}/${round(f.diastolic)}`;
    case 'glucose':
      return meterRange(r) ?? round(f.value);
    case 'weight':
      return round(f.value, 1);
    case 'temperature':
      return round(f.value, 1);
    case 'steps':
      return round(f.count);
    case 'fall':
      return 'detected';
    default:
      return round(f.value);
  }
}

/** What a cuff or meter flagged beside the value, in words (never colour alone): the cuff's irregular heartbeat. */
export function readingFlags(r: Pick<LatestReading, 'type' | 'fields'>): string[] {
  return r.type === 'blood_pressure' && r.fields.irregular === 1 ? ['irregular heartbeat'] : [];
}

/** "142/91 mmHg", "LO (below meter range)": the value with its unit. */
export function readingMain(r: Pick<LatestReading, 'type' | 'fields'>): string {
  const unit = UNITS[r.type] ?? '';
  return `${readingValue(r)}${unit && r.type !== 'fall' && !meterRange(r) ? ` ${unit}` : ''}`;
}

/** "142/91 mmHg · irregular heartbeat": the value with its unit and what the device flagged. */
export function readingText(r: Pick<LatestReading, 'type' | 'fields'>): string {
  return [readingMain(r), ...readingFlags(r)].join(' · ');
}

/** The reading's other measurements: a cuff's pulse. */
export function readingDetail(r: Pick<LatestReading, 'type' | 'fields'>): string | undefined {
  return r.type === 'blood_pressure' && r.fields.pulse !== undefined ? `pulse ${round(r.fields.pulse)}` : undefined;
}

/** "just now", "4 min ago", "3 h ago", "2 d ago". */
export function ago(ms: number | null | undefined, now = Date.now()): string {
  if (!ms) return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

export function dateTime(ms: number | null | undefined): string {
  if (!ms) return '–';
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** "14:05" today, "28 Nov, 14:05" on another day: a time a clinician compares with the clock on the wall. */
export function clock(ms: number): string {
  const d = new Date(ms);
  const today = d.toDateString() === new Date().toDateString();
  return today ? d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' }) : d.toLocaleString(undefined, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}

/**
 * What an alert's message adds to its title, shown under it: "systolic 206 > 180 mmHg" for "Severe hypertension
 * ...: systolic 206 > 180 mmHg", "confidence 88 %" for "Fall detected (confidence 88 %)". The server's note on
 * late data is left out where the alert shows it in words of its own, in local time (alert-notes.ts).
 */
export function alertDetail(a: { readonly title: string; readonly message: string; readonly late?: boolean }): string {
  let text = a.late ? a.message.replace(/\s*\(data arrived late: measured [^)]*\)/, '') : a.message;
  if (text.startsWith(`${a.title}: `)) text = text.slice(a.title.length + 2);
  else if (text.startsWith(`${a.title} (`) && text.endsWith(')')) text = text.slice(a.title.length + 2, -1);
  else if (text === a.title) text = '';
  return text;
}

/** "nurse" for `user:nurse`, "admin (Dr Grey)" for `admin:Dr Grey`, "CLI (root)" for `cli:root`: who acted. */
export function actorText(actor: string | null | undefined): string {
  if (!actor) return 'someone';
  const colon = actor.indexOf(':');
  if (colon < 0) return actor;
  const [kind, name] = [actor.slice(0, colon), actor.slice(colon + 1)];
  if (kind === 'user') return name;
  if (kind === 'admin') return `admin (${name})`;
  if (kind === 'cli') return `CLI (${name})`;
  return actor;
}

/** The reading type an alert's rule reads, from its id (`bp.crisis`, `spo2.low`): for units beside values. */
const RULE_PREFIX_TYPES: Record<string, string> = { bp: 'blood_pressure', glucose: 'glucose', cgm: 'glucose', spo2: 'spo2', pulse: 'heart_rate', temperature: 'temperature', weight: 'weight' };

/** Units of the other values an alert carries: a CGM's rate of change, a pulse, a battery. */
const FIELD_UNITS: Record<string, string> = { trend_rate: 'mg/dL/min', pulse: 'bpm', battery: '%', offlineHours: 'h' };

/** "mmHg" for `bp.crisis`, "%" for `spo2.low`: the unit of the values a rule compares, or "" where it has none. */
export function ruleUnit(ruleId: string): string {
  return UNITS[RULE_PREFIX_TYPES[ruleId.split('.')[0]!] ?? ''] ?? '';
}

/** "204/118 mmHg", "84 %", "systolic 204": an alert's values as a clinician reads them. */
export function valuesText(ruleId: string, values: Record<string, number>): string {
  const unit = ruleUnit(ruleId);
  const { systolic, diastolic, value, ...rest } = values;
  const parts: string[] = [];
  if (systolic !== undefined && diastolic !== undefined) parts.push(`${round(systolic)}/${round(diastolic)}${unit ? ` ${unit}` : ''}`);
  else if (systolic !== undefined) parts.push(`systolic ${round(systolic)}`);
  else if (diastolic !== undefined) parts.push(`diastolic ${round(diastolic)}`);
  if (value !== undefined) parts.push(`${Number.isInteger(value) ? value : value.toFixed(1)}${unit ? ` ${unit}` : ''}`);
  for (const [field, v] of Object.entries(rest)) parts.push(`${field.replaceAll('_', ' ')} ${Number.isInteger(v) ? v : v.toFixed(1)}${FIELD_UNITS[field] ? ` ${FIELD_UNITS[field]}` : ''}`);
  return parts.join(', ');
}
