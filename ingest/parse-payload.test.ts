import { describe, expect, it } from 'vitest';
import { parsePayload } from './parse-payload.js';

const ctx = { deviceId: 'd', patientId: 'p', receivedAt: Date.parse('2026-11-22T12:00:00Z'), futureToleranceMs: 300_000, maxAgeMs: 86_400_000 * 365, lateAfterMs: 900_000 };
const limits = { maxPayloadBytes: 10_000, maxBatch: 3 };
const parse = (body: unknown) => parsePayload(Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), ctx, limits);
const hr = (id?: string) => ({ type: 'heart_rate', time: '2026-11-22T11:00:00Z', value: 70, ...(id ? { id } : {}) });

describe('parsePayload', () => {
  it('takes a single reading or an array', () => {
    expect(parse(hr()).readings).toHaveLength(1);
    expect(parse([hr('a'), hr('b')]).readings).toHaveLength(2);
    expect(parse([]).readings).toHaveLength(0);
  });

  it('refers to a rejected reading by its id, else by its index', () => {
    const result = parse([hr('a'), { ...hr('b'), value: 999 }, { ...hr(), value: 999 }]);
    expect(result.rejections.map((r) => r.ref)).toEqual(['b', '2']);
    expect(result.readings).toHaveLength(1);
  });

  it('rejects a whole message that is too large, not JSON, or over the batch limit', () => {
    expect(parsePayload(Buffer.alloc(10_001, 32), ctx, limits).rejections[0]?.code).toBe('VIGIL_ERR_PAYLOAD_TOO_LARGE');
    expect(parse('{').rejections[0]?.code).toBe('VIGIL_ERR_NOT_JSON');
    expect(parse([hr(), hr(), hr(), hr()]).rejections[0]?.code).toBe('VIGIL_ERR_BATCH_TOO_LARGE');
    expect(parse('null').rejections[0]?.code).toBe('VIGIL_ERR_NOT_A_READING');
    expect(parse('42').rejections[0]?.code).toBe('VIGIL_ERR_NOT_A_READING');
  });

  it('refuses a whole message nested deeper than MAX_JSON_DEPTH, and takes one at the limit', () => {
    const deep = (levels: number) => `[${JSON.stringify(hr()).slice(0, -1)},"extra":${'['.repeat(levels)}${']'.repeat(levels)}}]`;
    expect(parsePayload(Buffer.from(deep(20_000)), ctx, { ...limits, maxPayloadBytes: 100_000 }).rejections).toEqual([{ ref: '*', code: 'VIGIL_ERR_TOO_DEEP', message: expect.stringMatching(/more than 32 levels/) }]);
    expect(parse(deep(30)).readings).toHaveLength(1);
    expect(parse(deep(31)).rejections[0]?.code).toBe('VIGIL_ERR_TOO_DEEP');
  });

  it('judges the UTF-8 of each payload on its own: a cut-off sequence is refused, never completed by the next payload', () => {
    const json = Buffer.from(JSON.stringify({ ...hr('é'), value: 70 }));
    const cut = json.indexOf(0xc3) + 1; // the first byte of é
    expect(parsePayload(json.subarray(0, cut), ctx, limits).rejections[0]?.code).toBe('VIGIL_ERR_NOT_JSON');
    expect(parsePayload(json.subarray(cut), ctx, limits).rejections[0]?.code).toBe('VIGIL_ERR_NOT_JSON');
    expect(parsePayload(Buffer.from([0xff]), ctx, limits).rejections[0]?.code).toBe('VIGIL_ERR_NOT_JSON');
    expect(parsePayload(json, ctx, limits).readings[0]?.msgId).toBe('é');
    // A byte-order mark is dropped, as before.
    expect(parsePayload(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), json]), ctx, limits).readings).toHaveLength(1);
  });

  it('rejects a glucose reading with neither a value nor a HI / LO flag with a coded message naming the field', () => {
    const r = parse({ type: 'glucose', time: '2026-11-22T11:00:00Z', source: 'meter', id: 'g1' });
    expect(r.rejections).toMatchObject([
      { ref: 'g1', code: 'VIGIL_ERR_SCHEMA', readingType: 'glucose', message: 'value: a glucose reading needs a value with its unit, or a flag "HI" or "LO" when the meter shows one' },
    ]);
    expect(parse({ type: 'glucose', time: '2026-11-22T11:00:00Z', source: 'meter', flag: 'HI' }).readings[0]?.fields).toEqual({ hi: 1 });
  });

  it('does not echo a huge unknown type back to the device', () => {
    const r = parse({ type: 'x'.repeat(5000), time: '2026-11-22T11:00:00Z' });
    expect(r.rejections[0]?.code).toBe('VIGIL_ERR_UNKNOWN_TYPE');
    expect(r.rejections[0]!.message.length).toBeLessThan(100);
  });
});
