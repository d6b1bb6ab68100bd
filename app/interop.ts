import type { FastifyInstance } from 'fastify';
import type { AlertQueries } from '../alerts/index.js';
import { QUESTIONNAIRES, type Checkins } from '../careloop/index.js';
import type { ReadingStore } from '../ingest/index.js';
import { answerSystem, registerFhirExportRoute, registerFhirRoutes, type InteropSources, type RequestAccess } from '../interop/index.js';
import { withOutboxReadings } from '../lifecycle/index.js';
import type { Registry } from '../registry/index.js';

/** The interop component's view of the registry. */
export function interopDirectory(registry: Pick<Registry, 'getPatient' | 'listPatients' | 'listDevices'>): InteropSources['directory'] {
  return { patient: (id) => registry.getPatient(id), patients: () => registry.listPatients(), devices: () => registry.listDevices() };
}

/** Check-in answers as the FHIR export needs them: each coded, with its question's and answer's display text. */
export function reportedSymptoms(checkins: Pick<Checkins, 'answers'>): NonNullable<InteropSources['symptoms']> {
  return {
    reported: (patientId, from, to) =>
      checkins.answers(patientId, from, to, 100_000).map((a) => {
        const item = QUESTIONNAIRES[a.questionnaire]?.items.find((i) => i.id === a.question);
        const answerText = item?.answers.find((o) => o.code === a.answer)?.text ?? a.answer;
        return {
          patientId,
          checkinId: a.inboxId,
          question: a.question,
          code: { system: a.codeSystem, code: a.code, display: item?.code.display ?? a.question },
          answer: { system: answerSystem(a.questionnaire, a.question), code: a.answer, display: answerText },
          at: a.at,
        };
      }),
  };
}

/** The FHIR routes (/fhir) and the FHIR export (/api/patients/{id}/export/fhir), on the dashboard's HTTP server. */
export function interopRoutes(o: { registry: Registry; readings: Pick<ReadingStore, 'queryRaw'>; dataDir: string; alerts: Pick<AlertQueries, 'list' | 'get'>; checkins?: Pick<Checkins, 'answers'>; access: RequestAccess; version: string; ratePerMinute: number }): ((app: FastifyInstance) => Promise<void>)[] {
  const sources: InteropSources = {
    directory: interopDirectory(o.registry),
    readings: o.readings,
    exportReadings: (patientId) => withOutboxReadings(o.readings, o.dataDir, patientId),
    alerts: o.alerts, ...(o.checkins ? { symptoms: reportedSymptoms(o.checkins) } : {}) };
  return [(app) => registerFhirRoutes(app, { sources, access: o.access, version: o.version, ratePerMinute: o.ratePerMinute }), (app) => registerFhirExportRoute(app, sources, o.access, o.ratePerMinute)];
}
