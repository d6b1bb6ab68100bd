import { open, unlink } from 'node:fs/promises';
import { interopDirectory, reportedSymptoms } from '../../app/interop.js';
import { Checkins, Inbox } from '../../careloop/index.js';
import { VigilError } from '../../domain/index.js';
import { InfluxStore, SqliteStore, type ReadingStore } from '../../ingest/index.js';
import { fhirPatientExport } from '../../interop/index.js';
import { withOutboxReadings } from '../../lifecycle/index.js';
import { stateConfig } from '../state-config.js';
import { withAlerts } from './alerts.js';
import { cliActor } from '../cli-actor.js';

export interface FhirExportOptions {
  readonly out: string;
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  readonly fhirBase?: string | undefined;
  readonly dataDir?: string | undefined;
}

/**
 * `vigil patients export <id> --format fhir`: the patient's readings and alerts for a period as one FHIR R4
 * collection Bundle in a new file (0600: it holds health data), audited as `patient.export`.
 */
export async function exportFhirFile(patientId: string, o: FhirExportOptions): Promise<{ entries: number }> {
  const from = o.from === undefined ? undefined : Date.parse(o.from);
  const to = o.to === undefined ? undefined : Date.parse(o.to);
  if (from !== undefined && to !== undefined && to <= from) throw new VigilError('VIGIL_ERR_CONFIG', '--to must be after --from');
  const config = stateConfig(o.dataDir);
  return withAlerts(config.dataDir, async ({ queries, audit, registry, db }) => {
    const store: ReadingStore = config.influx ? await InfluxStore.open(config.influx) : new SqliteStore(config.dataDir);
    // `wx`: never over an existing file (an earlier export, or anything else); taken before anything is read.
    const file = await open(o.out, 'wx', 0o600).catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'EEXIST' ? new VigilError('VIGIL_ERR_CONFLICT', `${o.out} exists: export into a new file`) : err;
    });
    try {
      const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
      const bundle = await fhirPatientExport({
        // With the readings acknowledged but still in the outbox: the export holds every one of the period.
        sources: { directory: interopDirectory(registry), readings: await withOutboxReadings(store, config.dataDir, patientId), alerts: queries, symptoms: reportedSymptoms(new Checkins(db, audit, new Inbox(db))) },
        patientId,
        from,
        to,
        base: o.fhirBase ?? `http://${host}:${config.httpPort}/fhir`,
        audit: (details) => audit.record(cliActor(), 'patient.export', patientId, o.out, details),
      });
      await file.writeFile(`${JSON.stringify(bundle, null, 2)}\n`);
      return { entries: bundle.entry.length };
    } catch (err) {
      await unlink(o.out).catch(() => undefined);
      throw err;
    } finally {
      await file.close();
      await store.close();
    }
  });
}
