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
  heart_rate: '/min',
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

function round(value: number | undefined, digits = 0): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  return value.toFixed(digits);
}

/** "142/91", "6.2", "97": a reading's main value in its stored unit. */
export function readingValue(r: Pick<LatestReading, 'type' | 'fields'>): string {
  const f = r.fields;
  switch (r.type) {
    case 'blood_pressure':
      return `${round(f.systolic)}/${round(f.diastolic)}`;
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

export function readingText(r: Pick<LatestReading, 'type' | 'fields'>): string {
  const unit = UNITS[r.type] ?? '';
  return `${readingValue(r)}${unit && r.type !== 'fall' ? ` ${unit}` : ''}`;
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
