import type { FastifyInstance } from 'fastify';
import type { AlertQueries } from '../alerts/index.js';
import type { ReadingStore } from '../ingest/index.js';
import { registerFhirExportRoute, registerFhirRoutes, type InteropSources, type RequestAccess } from '../interop/index.js';
import type { Registry } from '../registry/index.js';

/** The interop component's view of the registry. */
export function interopDirectory(registry: Pick<Registry, 'getPatient' | 'listPatients' | 'listDevices'>): InteropSources['directory'] {
  return { patient: (id) => registry.getPatient(id), patients: () => registry.listPatients(), devices: () => registry.listDevices() };
}

/** The FHIR routes (/fhir) and the FHIR export (/api/patients/{id}/export/fhir), on the dashboard's HTTP server. */
export function interopRoutes(o: { registry: Registry; readings: Pick<ReadingStore, 'queryRaw'>; alerts: Pick<AlertQueries, 'list' | 'get'>; access: RequestAccess; version: string }): ((app: FastifyInstance) => Promise<void>)[] {
  const sources: InteropSources = { directory: interopDirectory(o.registry), readings: o.readings, alerts: o.alerts };
  return [(app) => registerFhirRoutes(app, { sources, access: o.access, version: o.version }), (app) => registerFhirExportRoute(app, sources, o.access)];
}
