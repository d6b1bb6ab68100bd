import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openState } from '../../app/state.js';
import { SqliteStore } from '../../ingest/index.js';
import { Outbox } from '../../ingest/outbox/outbox.js';
import { reading } from '../../test/support/readings.js';
import { cleanedAfterEachTest } from '../../test/support/temp-dirs.js';
import { exportFhirFile } from './fhir-export.js';

describe('vigil patients export --format fhir', () => {
  const { dir } = cleanedAfterEachTest();

  it("holds the patient's readings still in the outbox (acknowledged, not yet stored) with the stored ones, each once", async () => {
    const dataDir = await dir();
    const { db, registry } = openState(dataDir);
    const patient = await registry.addPatient({ name: 'Fhir Outbox' });
    await registry.addDevice({ patientId: patient.id, id: 'cuff-1' });
    db.close();
    const T = Date.parse('2026-11-20T08:00:00Z');
    const bp = (i: number) => reading({ patientId: patient.id, deviceId: 'cuff-1', time: T + i * 60_000, msgId: `m${i}`, fields: { systolic: 120 + i, diastolic: 80 } });
    const store = new SqliteStore(dataDir);
    await store.write([bp(0), bp(1)]);
    await store.close();
    const outbox = await Outbox.open({ dir: join(dataDir, 'outbox') });
    // bp(1) stored, its checkpoint not yet written; bp(2) waiting for the store.
    await outbox.append([bp(1), bp(2)]);
    await outbox.close();
    const out = join(await dir(), 'bundle.json');
    await exportFhirFile(patient.id, { out, dataDir, from: new Date(T - 60_000).toISOString(), to: new Date(T + 3_600_000).toISOString() });
    const bundle = JSON.parse(await readFile(out, 'utf8')) as { entry: { resource: { resourceType: string; effectiveDateTime?: string } }[] };
    const observed = bundle.entry.filter((e) => e.resource.resourceType === 'Observation').map((e) => e.resource.effectiveDateTime).sort();
    expect(observed).toEqual([0, 1, 2].map((i) => new Date(T + i * 60_000).toISOString()));
  });
});
