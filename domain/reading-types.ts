/** The reading types of wire format v1 (docs/device-protocol.md), one InfluxDB measurement each. */
export const READING_TYPES = [
  'blood_pressure',
  'glucose',
  'weight',
  'spo2',
  'heart_rate',
  'temperature',
  'steps',
  'fall',
] as const;

export type ReadingType = (typeof READING_TYPES)[number];

export function isReadingType(value: unknown): value is ReadingType {
  return typeof value === 'string' && (READING_TYPES as readonly string[]).includes(value);
}
