import { describe, expect, it } from 'vitest';
import { translateEntries } from './entries.js';
import { translateTreatments } from './treatments.js';

const T = Date.parse('2026-11-22T08:15:00.000Z');

describe('Nightscout documents translated to wire readings', () => {
  it('reads an entry time from date (ms), else from dateString or sysTime with an offset, never from a local time', () => {
    const { items, rejections } = translateEntries(
      [
        { type: 'sgv', sgv: 120, date: T },
        // xDrip+ writes dateString with SimpleDateFormat "yyyy-MM-dd'T'HH:mm:ss.SSSZ": an offset without a colon.
        { type: 'sgv', sgv: '121', dateString: '2026-11-22T09:15:00.000+0100' },
        { type: 'mbg', mbg: 130, sysTime: '2026-11-22T08:15:00Z' },
        { type: 'sgv', sgv: 122, dateString: '2026-11-22T08:15:00' },
      ],
      'cgm-7',
    );
    expect(items.map((i) => i.item)).toEqual([
      { type: 'glucose', time: new Date(T).toISOString(), value: 120, unit: 'mg/dL', source: 'cgm', id: 'ns-sgv' },
      { type: 'glucose', time: new Date(T).toISOString(), value: 121, unit: 'mg/dL', source: 'cgm', id: 'ns-sgv' },
      { type: 'glucose', time: new Date(T).toISOString(), value: 130, unit: 'mg/dL', source: 'meter', id: 'ns-mbg' },
    ]);
    expect(rejections).toEqual([expect.objectContaining({ ref: '3', code: 'VIGIL_ERR_SCHEMA' })]);
  });

  it('gives the same _id to the same reading, and a finger stick the same identity as an entry or a treatment', () => {
    const entry = translateEntries({ type: 'mbg', mbg: 130, date: T }, 'cgm-7');
    const treatment = translateTreatments({ eventType: 'BG Check', glucose: 130, glucoseType: 'Finger', units: 'mg/dl', created_at: new Date(T).toISOString() }, 'cgm-7');
    expect(entry.documents.get('0')!._id).toBe(treatment.documents.get('0')!._id);
    expect((entry.items[0]!.item as { id: string }).id).toBe((treatment.items[0]!.item as { id: string }).id);
    expect(translateEntries({ type: 'mbg', mbg: 130, date: T }, 'cgm-8').documents.get('0')!._id).not.toBe(entry.documents.get('0')!._id);
  });

  it('takes a treatment glucose in its units, ignores a sensor value and what is not a glucose, and never guesses units', () => {
    const t = translateTreatments(
      [
        { eventType: 'BG Check', glucose: '7.2', glucoseType: 'Finger', units: 'mmol/L', date: T },
        { eventType: 'BG Check', glucose: 140, glucoseType: 'Sensor', units: 'mg/dl', date: T },
        { eventType: 'Correction Bolus', insulin: 0.25, date: T },
        { eventType: 'BG Check', glucose: 7.2, date: T },
      ],
      'cgm-7',
    );
    expect(t.items.map((i) => i.item)).toEqual([{ type: 'glucose', time: new Date(T).toISOString(), value: 7.2, unit: 'mmol/L', source: 'meter', sampleType: 'capillary_blood', id: 'ns-mbg' }]);
    expect(t.ignored).toEqual([
      { ref: '1', kind: 'sensor_glucose_treatment' },
      { ref: '2', kind: 'treatment' },
    ]);
    expect(t.rejections.map((r) => [r.ref, r.code, r.message.split(':')[0]])).toEqual([['3', 'VIGIL_ERR_SCHEMA', 'units']]);
  });
});
