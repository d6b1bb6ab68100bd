import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '../../domain/index.js';
import { SqliteStore } from '../../ingest/index.js';
import { tempDir } from '../../test/support/temp.js';
import type { InteropSources } from '../ports.js';
import { fhirPatientExport } from './patient-bundle.js';

const T0 = Date.UTC(2026, 10, 1);

/** The export's size bound, on the real embedded store: a period with more readings than the bound is refused. */
describe('FHIR export size bound', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let store: SqliteStore;
  let sources: InteropSources;
  beforeAll(async () => {
    dir = await tempDir();
    store = new SqliteStore(dir.path);
    const readings: Reading[] = Array.from({ length: 6 }, (_, i) => ({
      key: `k${i}`,
      type: 'heart_rate',
      deviceId: 'hr_1',
      patientId: 'p-1',
      time: T0 + i * 60_000,
      receivedAt: T0 + i * 60_000,
      late: false,
      fields: { value: 60 + i },
      tags: {},
    }));
    await store.write(readings);
    sources = {
      directory: { patient: (id) => (id === 'p-1' ? { id, name: 'Ada Example', careTeam: null, createdAt: T0 } : undefined), patients: () => [], devices: () => [] },
      readings: store,
      alerts: { list: () => [], get: () => undefined },
    };
  });
  afterAll(async () => {
    await store.close();
    await dir.remove();
  });

  it('refuses a period holding more readings than the bound (400, export shorter periods), and audits nothing', async () => {
    const audited: unknown[] = [];
    const run = (maxReadings: number) => fhirPatientExport({ sources, patientId: 'p-1', base: 'https://vigil.example/fhir', audit: (d) => audited.push(d), maxReadings });
    await expect(run(5)).rejects.toMatchObject({ code: 'VIGIL_ERR_BAD_REQUEST', message: expect.stringMatching(/more than 5 readings/) });
    expect(audited).toEqual([]);
    const bundle = await run(6);
    expect(bundle.entry?.filter((e) => e.resource.resourceType === 'Observation')).toHaveLength(6);
    expect(audited).toHaveLength(1);
  });
});
