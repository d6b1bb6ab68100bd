import type { FastifyInstance, FastifyRequest } from 'fastify';
import { VigilError } from '../../domain/index.js';
import { searchset } from '../fhir/bundle.js';
import { capabilityStatement } from '../fhir/capability.js';
import { toFlag } from '../fhir/flag.js';
import { fromFhirId, toFhirId } from '../fhir/ids.js';
import { searchObservations } from '../fhir/observation-search.js';
import { toDevice, toPatient } from '../fhir/registry-resources.js';
import { dateFilter, onlyKnown, openEnd, paging, patientReference, single, tokens, values, type Query } from '../fhir/search-params.js';
import { VIGIL_PATIENT_ID, type Resource } from '../fhir/types.js';
import type { InteropSources, RequestAccess } from '../ports.js';
import { fhirPlugin, baseUrl, requireCaller } from './fhir-plugin.js';
import { auditQuery, requiredPatient, visiblePatient } from './patient-scope.js';

export interface FhirRoutesOptions {
  readonly sources: InteropSources;
  readonly access: RequestAccess;
  readonly version: string;
  /** Requests per client address per minute (VIGIL_API_RATE_PER_MINUTE). */
  readonly ratePerMinute: number;
  readonly now?: () => number;
}

// Hidden from the OpenAPI document of /api: the FHIR endpoint describes itself (/fhir/metadata), and its errors are
// OperationOutcome resources, not the JSON API's error body.
const hidden = { schema: { hide: true } };

type Req = FastifyRequest<{ Querystring: Query; Params: { id: string } }>;

/** The paging links keep the search's own parameters (not _count and _offset, which they set). */
function searchParams(query: Query): URLSearchParams {
  const params = new URLSearchParams();
  for (const key of Object.keys(query).sort()) {
    if (key === '_count' || key === '_offset') continue;
    for (const v of values(query, key)) params.append(key, v);
  }
  return params;
}

/**
 * FHIR R4 read and search over HTTP at /fhir (docs/interop.md): the CapabilityStatement, Observations from the
 * reading store, Patients and Devices from the registry, alerts as Flags. Read-only; every read of patient data
 * is audited as `fhir.read` or `fhir.search` with the query.
 */
export async function registerFhirRoutes(app: FastifyInstance, options: FhirRoutesOptions): Promise<void> {
  const { sources, access } = options;
  const now = options.now ?? Date.now;
  await app.register(
    async (fhir) => {
      fhirPlugin(fhir, options.ratePerMinute);
      // Public, as FHIR clients discover a server before they log in: it holds no patient data.
      fhir.get('/metadata', hidden, async (request) => capabilityStatement(baseUrl(request), options.version, now()));
      await fhir.register(async (api) => {
        requireCaller(api, access);

        api.get('/Patient/:id', hidden, async (request: Req) => {
          const patient = visiblePatient(sources, access, request, fromFhirId(request.params.id), request.params.id);
          access.auditView(request, 'fhir.read', patient.id, `Patient/${request.params.id}`, 'Patient');
          return toPatient(patient);
        });

        api.get('/Patient', hidden, async (request: Req) => {
          const q = request.query;
          onlyKnown(q, ['_id', 'identifier', 'name']);
          const { count, offset } = paging(q);
          const ids = values(q, '_id').map((v) => v.split(',').map((id) => fromFhirId(id)));
          const identifiers = values(q, 'identifier').map((v) => tokens(v).filter((t) => t.system === undefined || t.system === VIGIL_PATIENT_ID).map((t) => t.code));
          const names = values(q, 'name').map((v) => v.toLowerCase());
          const matches = sources.directory
            .patients()
            .filter((p) => access.canSee(request, p.careTeam))
            .filter((p) => ids.every((any) => any.includes(p.id)) && identifiers.every((any) => any.includes(p.id)))
            .filter((p) => names.every((n) => p.name.toLowerCase().startsWith(n) || p.name.toLowerCase().split(/\s+/).some((w) => w.startsWith(n))))
            .sort((a, b) => a.id.localeCompare(b.id));
          const page = matches.slice(offset, offset + count);
          access.auditView(request, 'fhir.search', page.length === 1 ? page[0]!.id : null, 'Patient', auditQuery(q), { query: auditQuery(q), patients: page.map((p) => p.id) });
          return searchset(baseUrl(request), 'Patient', searchParams(q), { resources: page.map(toPatient), offset, count, more: matches.length > offset + count, total: matches.length }, now());
        });

        api.get('/Observation', hidden, async (request: Req) => {
          const q = request.query;
          onlyKnown(q, ['patient', 'date', 'code', 'category']);
          const patient = requiredPatient(sources, access, request, q);
          const { count, offset } = paging(q);
          const period = dateFilter(values(q, 'date'), { from: 0, to: openEnd(now()) });
          const code = single(q, 'code');
          const category = single(q, 'category');
          access.auditView(request, 'fhir.search', patient.id, 'Observation', auditQuery(q), { query: auditQuery(q) });
          const { page, more } = await searchObservations(sources, {
            patientId: patient.id,
            period,
            codes: code === undefined ? undefined : tokens(code),
            categories: category === undefined ? undefined : tokens(category),
            count,
            offset,
          });
          return searchset(baseUrl(request), 'Observation', searchParams(q), { resources: page, offset, count, more }, now());
        });

        api.get('/Device/:id', hidden, async (request: Req) => {
          const id = fromFhirId(request.params.id);
          const device = sources.directory.devices().find((d) => d.id === id);
          const missing = `Device/${request.params.id} does not exist`;
          if (!device) throw new VigilError('VIGIL_ERR_NOT_FOUND', missing);
          // A device is seen through its patient; one assigned to nobody, by administrators only. Either refusal
          // is answered as a device that does not exist (patient-scope.ts says why).
          if (device.patientId) visiblePatient(sources, access, request, device.patientId, toFhirId(device.patientId), missing);
          else if (!access.canSee(request, null)) {
            access.denied(request, null, `fhir:${request.url.split('?')[0]}`);
            throw new VigilError('VIGIL_ERR_NOT_FOUND', missing);
          }
          access.auditView(request, 'fhir.read', device.patientId, `Device/${request.params.id}`, 'Device');
          return toDevice(device);
        });

        api.get('/Device', hidden, async (request: Req) => {
          const q = request.query;
          onlyKnown(q, ['patient']);
          const { count, offset } = paging(q);
          const text = single(q, 'patient');
          const patient = text === undefined ? undefined : visiblePatient(sources, access, request, patientReference(text), text);
          const devices = sources.directory
            .devices()
            .filter((d) => (patient ? d.patientId === patient.id : access.canSee(request, d.patientId ? (sources.directory.patient(d.patientId)?.careTeam ?? null) : null)))
            .sort((a, b) => a.id.localeCompare(b.id));
          access.auditView(request, 'fhir.search', patient?.id ?? null, 'Device', auditQuery(q), { query: auditQuery(q) });
          const page = devices.slice(offset, offset + count).map(toDevice);
          return searchset(baseUrl(request), 'Device', searchParams(q), { resources: page, offset, count, more: devices.length > offset + count, total: devices.length }, now());
        });

        api.get('/Flag/:id', hidden, async (request: Req) => {
          const id = /^alert-(\d{1,15})$/.exec(request.params.id)?.[1];
          const found = id === undefined ? undefined : sources.alerts.get(Number(id));
          const missing = `Flag/${request.params.id} does not exist`;
          if (!found) throw new VigilError('VIGIL_ERR_NOT_FOUND', missing);
          visiblePatient(sources, access, request, found.alert.patientId, toFhirId(found.alert.patientId), missing);
          access.auditView(request, 'fhir.read', found.alert.patientId, `Flag/${request.params.id}`, `Flag/${request.params.id}`);
          return toFlag(found.alert);
        });

        api.get('/Flag', hidden, async (request: Req) => {
          const q = request.query;
          onlyKnown(q, ['patient', 'status']);
          const patient = requiredPatient(sources, access, request, q);
          const { count, offset } = paging(q);
          const status = single(q, 'status');
          const wanted = status === undefined ? undefined : tokens(status).map((t) => t.code);
          if (wanted?.some((s) => s !== 'active' && s !== 'inactive')) throw new VigilError('VIGIL_ERR_BAD_REQUEST', 'status is active or inactive (Vigil has no entered-in-error flags)');
          access.auditView(request, 'fhir.search', patient.id, 'Flag', auditQuery(q), { query: auditQuery(q) });
          const flags: Resource[] = sources.alerts
            .list({ patientId: patient.id, limit: 100_000 })
            .sort((a, b) => a.openedAt - b.openedAt || a.id - b.id)
            .map(toFlag)
            .filter((f) => !wanted || wanted.includes(f.status as string));
          return searchset(baseUrl(request), 'Flag', searchParams(q), { resources: flags.slice(offset, offset + count), offset, count, more: flags.length > offset + count, total: flags.length }, now());
        });
      });
    },
    { prefix: '/fhir' },
  );
}
