import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { parseJsonPayload, type IngestOutcome, type ParseLimits, type ReadingStore, type TranslatedItems } from '../ingest/index.js';
import { responses } from '../dashboard/index.js';
import { nightscoutGuard, type DeviceFrom, type DeviceRate, type NightscoutCredentials } from './auth.js';
import { translateEntries } from './entries.js';
import type { NightscoutMetrics } from './metrics.js';
import { nightscoutEntrySchema, readEntries } from './read-entries.js';
import { nightscoutStatus, nightscoutStatusSchema } from './status.js';
import { documentId, isDocument, type IgnoredKind, type Translation } from './translation.js';
import { translateTreatments } from './treatments.js';
import { logUploadRefused, logUploadRejected, type LogLimit } from './upload-lines.js';

export interface NightscoutRouteOptions {
  readonly credentials: NightscoutCredentials & { getDevice(id: string): { readonly patientId: string | null } | undefined };
  readonly intake: { handleItems(deviceId: string, payload: Buffer, translated: TranslatedItems): Promise<IngestOutcome> };
  readonly readings: Pick<ReadingStore, 'queryRaw'>;
  readonly limits: ParseLimits;
  readonly rate: DeviceRate;
  /**
   * One line per device every 10 s for the 'readings rejected' line: the limiter the MQTT side's lines go through
   * too (app/vigil.ts), so that a device bad on both paths still writes one line. Closed by its maker.
   */
  readonly deviceLogLimiter: LogLimit;
  readonly metrics: NightscoutMetrics;
  readonly log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** Told of each device whose upload was taken (its readings durable): the device's last-seen time. */
  readonly seen: (deviceId: string, at: number) => void;
}

const params = z.object({ deviceId: z.string().min(1).max(128).describe('the Vigil device id whose secret is the API secret') });
const document = z.looseObject({ _id: z.string().describe('24 hex digits, the same for a re-upload of the same reading') });
const documents = z
  .array(document)
  .describe('one answer per uploaded document, in order, with its _id; `vigilRejected` {code, message} on a rejected one, `vigilIgnored` (its kind) on one Vigil does not use');
const tags = ['nightscout'];
/** Devices, not dashboard users: the OpenAPI document's apiSecret scheme (dashboard/dashboard.ts). */
const security = [{ apiSecret: [] }];

/**
 * Nightscout API v1 twice: under /ns/{deviceId}/api/v1, one base URL per device (xDrip+), and under /api/v1, where
 * the device is the one whose secret the request presents (Loop keeps only the host of its site URL), so that
 * the apps upload to Vigil unchanged. Uploads go through the same intake as MQTT: the 200 is sent once the readings are in the outbox on
 * disk (the PUBACK's meaning), and what cannot be used is answered 200 too, counted and logged, since an
 * uploader resends a refused upload for ever.
 */
export async function registerNightscoutRoutes(app: FastifyInstance, o: NightscoutRouteOptions): Promise<void> {
  await app.register(async (ns) => mount(ns, o, 'path'), { prefix: '/ns/:deviceId/api/v1' });
  await app.register(async (ns) => mount(ns, o, 'secret'), { prefix: '/api/v1' });
}

async function mount(ns: FastifyInstance, o: NightscoutRouteOptions, from: DeviceFrom): Promise<void> {
  const api = ns.withTypeProvider<ZodTypeProvider>();
  // The device each request was authenticated as (the guard finds it).
  const devices = new WeakMap<FastifyRequest, string>();
  const deviceOf = (request: FastifyRequest) => devices.get(request)!;
  const withParams = from === 'path' ? { params } : {};
  const where = from === 'path' ? 'one base URL per device' : 'the device whose api-secret this is';
  const upload = (summary: string) => ({
    tags,
    security,
    summary: `${summary} (${where})`,
    description: 'Nightscout API v1 for uploaders (docs/device-protocol.md "Nightscout"). `api-secret` header: SHA-1 hex of the device secret. Headers X-Vigil-Accepted, -Duplicates, -Rejected, -Ignored count what happened to the upload; X-Vigil-Error names the first rejection.',
    ...withParams,
    response: responses({ 200: documents }, 400, 401, 403, 413, 429, 503),
  });
  // Bodies are read as bytes: intake and the rejection log take the upload as received, and JSON that does not
  // parse is a coded rejection (VIGIL_ERR_NOT_JSON), whatever content type the app declared.
  ns.removeAllContentTypeParsers();
  ns.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: o.limits.maxPayloadBytes }, (_request, body, done) => done(null, body));
  // Before the body is read: a request without the device's secret costs no parsing.
  ns.addHook('onRequest', nightscoutGuard(from, devices, o.credentials, o.rate, o.metrics));
  ns.addHook('onSend', async (_request, reply, payload) => {
    reply.header('cache-control', 'no-store');
    return payload;
  });
  ns.addHook('onError', async (request, reply, error) => {
    if (reply.statusCode !== 413 && (error as { statusCode?: number }).statusCode !== 413) return;
    o.metrics.refused.inc({ code: 'VIGIL_ERR_PAYLOAD_TOO_LARGE' });
    // Past the body limit, before the body was read: recorded in the rejection log as the upload's refusal, with
    // no payload to keep, counted and logged. The guard ran first, so the request has its device.
    const deviceId = devices.get(request);
    if (deviceId === undefined) return;
    const declared = Number(request.headers['content-length']);
    const size = Number.isSafeInteger(declared) && declared > 0 ? `${declared} bytes` : 'more bytes than that';
    const rejection = { ref: '*', code: 'VIGIL_ERR_PAYLOAD_TOO_LARGE' as const, message: `upload is ${size}; the limit is ${o.limits.maxPayloadBytes}` };
    await o.intake.handleItems(deviceId, Buffer.alloc(0), { items: [], rejections: [rejection] }).catch((err: unknown) => o.log.warn({ err, deviceId }, 'Nightscout upload refused: its rejection was not recorded'));
    logUploadRefused(o.deviceLogLimiter, o.log, deviceId, 'VIGIL_ERR_PAYLOAD_TOO_LARGE', 413);
  });

  const take = async (deviceId: string, body: unknown, reply: FastifyReply, translate: (json: unknown, deviceId: string) => Translation) => {
    const payload = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
    const json = parseJsonPayload(payload, o.limits);
    if ('rejection' in json) {
      // Recorded like a refused MQTT message (rejection log, vigil_readings_rejected_total), then refused.
      await o.intake.handleItems(deviceId, payload, { items: [], rejections: [json.rejection] });
      o.metrics.refused.inc({ code: json.rejection.code });
      const status = json.rejection.code === 'VIGIL_ERR_PAYLOAD_TOO_LARGE' ? 413 : 400;
      logUploadRefused(o.deviceLogLimiter, o.log, deviceId, json.rejection.code, status);
      return reply.code(status).send({ code: json.rejection.code, message: json.rejection.message });
    }
    const translation = translate(json.body, deviceId);
    return answer(deviceId, payload, json.body, translation, reply);
  };

  async function answer(deviceId: string, payload: Buffer, body: unknown, t: Translation, reply: FastifyReply) {
    const outcome = await o.intake.handleItems(deviceId, payload, t);
    o.seen(deviceId, Date.now());
    const wholeRefused = outcome.rejections.find((r) => r.ref === '*');
    if (wholeRefused) {
      o.metrics.refused.inc({ code: wholeRefused.code });
      logUploadRefused(o.deviceLogLimiter, o.log, deviceId, wholeRefused.code, 413);
      return reply.code(413).send({ code: wholeRefused.code, message: wholeRefused.message });
    }
    const docs = Array.isArray(body) ? body : [body];
    // An unassigned device's readings are all rejected (their refs are message ids, not indexes).
    const unassigned = outcome.rejections.find((r) => r.code === 'VIGIL_ERR_DEVICE_UNASSIGNED');
    const rejected = new Map(outcome.rejections.map((r) => [r.ref, r]));
    const ignored = new Map<string, IgnoredKind>(t.ignored.map((i) => [i.ref, i.kind]));
    for (const kind of ignored.values()) o.metrics.ignored.inc({ kind });
    // One answer per uploaded document, in order: Loop (NightscoutKit postToNS) fails an upload whose answer
    // has another length. Each says what became of its document, for whoever reads the answer.
    const answered = docs.map((doc, index): z.output<typeof document> => {
      const ref = String(index);
      const translated = t.documents.get(ref);
      const base: Record<string, unknown> = translated ?? (isDocument(doc) ? doc : {});
      const _id: string = typeof base._id === 'string' ? base._id : documentId(deviceId, `doc:${JSON.stringify(doc) ?? ''}`, 0);
      const refusal = rejected.get(ref) ?? (translated ? unassigned : undefined);
      if (refusal) return { ...base, _id, vigilRejected: { code: refusal.code, message: refusal.message } };
      const kind = ignored.get(ref);
      return kind ? { ...base, _id, vigilIgnored: kind } : { ...base, _id };
    });
    const first = outcome.rejections[0];
    reply.header('x-vigil-accepted', String(outcome.accepted));
    reply.header('x-vigil-duplicates', String(outcome.duplicates));
    reply.header('x-vigil-rejected', String(outcome.rejections.length));
    reply.header('x-vigil-ignored', String(ignored.size));
    if (first) {
      // Header values are ASCII: the message is Vigil's own text, cut and stripped of anything else.
      reply.header('x-vigil-error', `${first.code} ${first.ref}: ${first.message}`.replace(/[^\x20-\x7e]/g, '?').slice(0, 200));
      logUploadRejected(o.deviceLogLimiter, o.log, deviceId, outcome.rejections);
    }
    return answered;
  }

  api.post('/entries', { schema: upload('Upload CGM (sgv) and meter (mbg) entries') }, (request, reply) => take(deviceOf(request), request.body, reply, translateEntries));
  api.post('/entries.json', { schema: { ...upload('Upload entries (the .json form)'), hide: true } }, (request, reply) => take(deviceOf(request), request.body, reply, translateEntries));
  api.post('/treatments', { schema: upload('Upload treatments: finger-stick glucose (BG Check) is kept, the rest ignored') }, (request, reply) => take(deviceOf(request), request.body, reply, translateTreatments));
  // xDrip+ sends each treatment as an upsert (PUT) rather than an insert.
  api.put('/treatments', { schema: upload('Upsert a treatment (xDrip+): as POST') }, (request, reply) => take(deviceOf(request), request.body, reply, translateTreatments));
  api.post('/devicestatus', { schema: upload('Device status (uploader battery, loop state): not used, answered as stored') }, (request, reply) =>
    take(deviceOf(request), request.body, reply, (json) => {
      const docs = Array.isArray(json) ? json : [json];
      return { items: [], rejections: [], ignored: docs.map((_, i) => ({ ref: String(i), kind: 'devicestatus' as const })), documents: new Map() };
    }),
  );

  const entriesQuery = z.object({ count: z.coerce.number().int().min(1).max(1000).default(10).describe('how many entries, newest first (Nightscout default 10)') });
  const readSchema = {
    tags,
    security,
    summary: `The device's glucose readings of the last 7 days as Nightscout entries, newest first (${where})`,
    ...withParams,
    querystring: entriesQuery,
    response: responses({ 200: z.array(nightscoutEntrySchema) }, 400, 401, 403, 429),
  };
  const read = async (deviceId: string, count: number) => readEntries(o.readings, o.credentials.getDevice(deviceId)?.patientId ?? null, deviceId, count);
  api.get('/entries', { schema: readSchema }, (request) => read(deviceOf(request), request.query.count));
  api.get('/entries.json', { schema: { ...readSchema, hide: true } }, (request) => read(deviceOf(request), request.query.count));

  const statusSchema = { tags, security, summary: `Nightscout status: what uploaders probe first (${where})`, ...withParams, response: responses({ 200: nightscoutStatusSchema }, 401, 403, 429) };
  api.get('/status', { schema: statusSchema }, async () => nightscoutStatus());
  api.get('/status.json', { schema: { ...statusSchema, hide: true } }, async () => nightscoutStatus());
  // Loop checks its URL and secret with this request before it uploads.
  api.get('/experiments/test', { schema: { tags, security, summary: `Credentials check (Loop; ${where})`, ...withParams, response: responses({ 200: z.object({ status: z.literal('ok') }) }, 401, 403, 429) } }, async () => ({ status: 'ok' as const }));
}
