import { describe, expect, it } from 'vitest';
import { normaliseReading, wireReadingSchema, type WireReadingInput } from '../../domain/index.js';
import { SimulatedDevice } from '../device.js';
import { implausible } from '../faults.js';
import { PROFILES, type Condition } from '../profiles.js';
import { Rng } from '../rng.js';
import { DEVICE_MODELS, measure } from './index.js';

const ctx = { deviceId: 'd', patientId: 'p', futureToleranceMs: 300_000, maxAgeMs: 86_400_000 * 365, lateAfterMs: 900_000 };

describe('simulated device models', () => {
  it.each(DEVICE_MODELS)('%s produces readings that pass the ingest schemas and plausibility, for every profile', (model) => {
    for (const condition of Object.keys(PROFILES) as Condition[]) {
      const rng = new Rng(7);
      for (let i = 0; i < 200; i++) {
        const at = new Date(Date.UTC(2026, 10, 22, i % 24, (i * 7) % 60));
        const wire = wireReadingSchema.parse(measure(model, { body: PROFILES[condition], at, rng, seq: i }));
        const result = normaliseReading(wire, { ...ctx, receivedAt: at.getTime() });
        expect(result.ok, `${model}/${condition}: ${JSON.stringify(result)}`).toBe(true);
      }
    }
  });

  it('gives a CGM a sensor warm-up, and signal losses whose readings come later as a backlog', () => {
    const device = new SimulatedDevice({ deviceId: 'cgm-1', secret: 's', model: 'cgm', condition: 'type1_diabetes', seed: 3 }, { url: 'mqtt://unused', topicPrefix: 'rpm/v1' });
    const start = Date.parse('2026-11-22T00:00:00Z');
    const payloads = Array.from({ length: 600 }, (_, i) => device.nextPayload(new Date(start + i * 5 * 60_000)));
    expect(payloads.slice(0, 2)).toEqual([undefined, undefined]);
    const backlogs = payloads.filter((p): p is WireReadingInput[] => Array.isArray(p));
    expect(backlogs.length).toBeGreaterThan(0);
    expect(backlogs.every((b) => b.length >= 2)).toBe(true);
    const sent = payloads.flatMap((p) => (p === undefined ? [] : Array.isArray(p) ? p : [p]));
    // Nothing measured after the warm-up is lost: at most the readings of a loss still under way at the end wait.
    expect(sent.length).toBeLessThanOrEqual(598);
    expect(sent.length).toBeGreaterThanOrEqual(598 - 6);
    for (const r of sent) expect(wireReadingSchema.safeParse(r).success).toBe(true);
  });

  it('is reproducible from its seed', () => {
    const at = new Date('2026-11-22T08:00:00Z');
    const a = measure('bp_cuff', { body: PROFILES.hypertension, at, rng: new Rng(42), seq: 1 });
    const b = measure('bp_cuff', { body: PROFILES.hypertension, at, rng: new Rng(42), seq: 1 });
    expect(a).toEqual(b);
  });

  it.each(DEVICE_MODELS)('a faulty %s sends a reading Vigil rejects', (model) => {
    const at = new Date('2026-11-22T08:00:00Z');
    const wire = wireReadingSchema.parse(implausible(measure(model, { body: PROFILES.healthy, at, rng: new Rng(1), seq: 1 })));
    expect(normaliseReading(wire, { ...ctx, receivedAt: at.getTime() }).ok).toBe(false);
  });
});
