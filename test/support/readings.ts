import type { Reading, ReadingType } from '../../domain/index.js';

/** A stored-form reading for store and outbox tests. */
export function reading(overrides: Partial<Reading> & { type?: ReadingType } = {}): Reading {
  const type = overrides.type ?? 'blood_pressure';
  const deviceId = overrides.deviceId ?? 'dev-1';
  const time = overrides.time ?? Date.parse('2026-11-22T08:00:00Z');
  const msgId = overrides.msgId;
  return {
    type,
    deviceId,
    patientId: 'pat-1',
    time,
    msgId,
    receivedAt: time + 1000,
    late: false,
    fields: type === 'blood_pressure' ? { systolic: 120, diastolic: 80 } : { value: 100 },
    tags: type === 'glucose' ? { source: 'meter' } : {},
    ...overrides,
  };
}
