import { describe, expect, it } from 'vitest';
import { normaliseReading, wireReadingSchema } from '../../domain/index.js';
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
