import { describe, expect, it } from 'vitest';
import { translateSenml } from './senml.js';

const NOW = Date.parse('2026-11-22T08:00:00.000Z');
const T = NOW / 1000 - 3_600;
const at = (seconds: number) => new Date(seconds * 1000).toISOString();

describe('SenML (RFC 8428) packs translated to wire readings', () => {
  it('resolves base name, base time, base unit and base value record by record (§4.6)', () => {
    // The shape of RFC 8428 §5.1.2 (a base name ending in ':' and relative offsets), with Vigil's names.
    const pack = [
      { bn: 'urn:dev:mac:0024befffe804ff1:', bt: T, bu: 'mg/dL', n: 'glucose', v: 100 },
      { n: 'cgm-glucose', t: 300, v: 110 },
      { n: 'cgm-glucose', t: 600, u: 'mmol/L', v: 6.2 },
      { bv: 100, n: 'glucose', t: 900, v: 5 },
    ];
    const { items, rejections } = translateSenml(pack, NOW);
    expect(rejections).toEqual([]);
    expect(items).toEqual([
      { ref: '0', item: { type: 'glucose', time: at(T), value: 100, unit: 'mg/dL', source: 'meter' } },
      { ref: '1', item: { type: 'glucose', time: at(T + 300), value: 110, unit: 'mg/dL', source: 'cgm' } },
      { ref: '2', item: { type: 'glucose', time: at(T + 600), value: 6.2, unit: 'mmol/L', source: 'cgm' } },
      { ref: '3', item: { type: 'glucose', time: at(T + 900), value: 105, unit: 'mg/dL', source: 'meter' } },
    ]);
  });

  it('reads a time below 2**28 s as relative to now (§4.5.3), and a missing time as now', () => {
    const { items } = translateSenml([{ n: 'heart-rate', u: 'beat/min', v: 72, t: -60 }, { n: 'heart-rate', u: '1/min', v: 74 }], NOW);
    expect(items.map((i) => (i.item as { time: string }).time)).toEqual([new Date(NOW - 60_000).toISOString(), new Date(NOW).toISOString()]);
  });

  it('joins systolic and diastolic of the same base name and time into one blood pressure reading', () => {
    const { items, rejections } = translateSenml(
      [
        { bn: 'urn:dev:mac:0024befffe804ff2:', bt: T, bu: 'mmHg', n: 'systolic', v: 128 },
        { n: 'diastolic', v: 82 },
        { n: 'systolic', t: 60, v: 130 },
        { n: 'systolic', t: 120, u: 'kPa', v: 17 },
        { n: 'diastolic', t: 120, v: 80 },
      ],
      NOW,
    );
    expect(items).toEqual([{ ref: '0', item: { type: 'blood_pressure', time: at(T), systolic: 128, diastolic: 82, unit: 'mmHg' } }]);
    expect(rejections.map((r) => [r.ref, r.code, r.message])).toEqual([
      ['2', 'VIGIL_ERR_SCHEMA', 'diastolic: no diastolic record with the same base name and time'],
      ['3', 'VIGIL_ERR_SCHEMA', 'unit: systolic in kPa and diastolic in mmHg; send both in the same unit'],
    ]);
  });

  it('converts the units RFC 8428 registers to the wire units (ratio to %, K to Cel, g to kg)', () => {
    const { items } = translateSenml(
      [
        { bt: T, n: 'spo2', u: '/', v: 0.97 },
        { n: 'temperature', u: 'K', v: 310.15 },
        { n: 'weight', u: 'g', v: 81_200 },
      ],
      NOW,
    );
    expect(items.map((i) => i.item)).toEqual([
      { type: 'spo2', time: at(T), value: 97 },
      { type: 'temperature', time: at(T), value: 37, unit: 'Cel' },
      { type: 'weight', time: at(T), value: 81.2, unit: 'kg' },
    ]);
  });

  it('rejects each record it cannot map with a code naming the reason, and keeps the others', () => {
    const pack = [
      { n: 'urn:dev:ow:10e2073a01080063', u: 'Cel', v: 23.1 }, // RFC 8428 §5.1.1: a name Vigil does not map
      { n: 'glucose', u: 'mg/dl', v: 100 },
      { n: 'glucose', vs: '100' },
      { n: ' glucose', u: 'mg/dL', v: 100 },
      'not a record',
      { n: 'weight', u: 'kg', v: '80' },
      { n: 'weight', u: 'kg', v: 80 },
    ];
    const { items, rejections } = translateSenml(pack, NOW);
    expect(items).toHaveLength(1);
    expect(rejections.map((r) => [r.ref, r.code])).toEqual([
      ['0', 'VIGIL_ERR_UNKNOWN_TYPE'],
      ['1', 'VIGIL_ERR_SCHEMA'],
      ['2', 'VIGIL_ERR_SENML'],
      ['3', 'VIGIL_ERR_SENML'],
      ['4', 'VIGIL_ERR_SENML'],
      ['5', 'VIGIL_ERR_SENML'],
    ]);
    expect(rejections[1]!.message).toContain('mg/dL');
    // Each rejection keeps the record as sent, so the rejection log shows what came in.
    expect(rejections[0]!.item).toEqual(pack[0]);
  });

  it('refuses the whole pack when it is not an array, carries a must-understand field it does not know (§4.4), or a newer bver', () => {
    for (const body of [{ n: 'glucose', v: 1 }, [{ n: 'glucose', u: 'mg/dL', v: 100, custom_: 1 }], [{ bver: 11, n: 'glucose', u: 'mg/dL', v: 100 }]]) {
      const { items, rejections } = translateSenml(body, NOW);
      expect(items).toEqual([]);
      expect(rejections).toEqual([expect.objectContaining({ ref: '*', code: 'VIGIL_ERR_SENML' })]);
    }
  });
});
