import {
  isReadingType,
  MAX_JSON_DEPTH,
  nestedDeeperThan,
  normaliseReading,
  WIRE_SCHEMAS,
  type NormaliseContext,
  type Reading,
  type RejectionCode,
} from '../domain/index.js';

export interface Rejection {
  /** The reading's `id`, or its index in the published array ("0" for a single reading). */
  readonly ref: string;
  readonly code: RejectionCode;
  readonly message: string;
  readonly readingType?: string | undefined;
  /** The published item as parsed, kept so the rejection can be replayed (absent when the whole message was refused). */
  readonly item?: unknown;
  /** For VIGIL_ERR_FUTURE_TIME: how far ahead of the server clock the reading was (for clock-skew detection). */
  readonly aheadMs?: number | undefined;
}

export interface ParsedPayload {
  readonly readings: Reading[];
  readonly rejections: Rejection[];
}

export interface ParseLimits {
  readonly maxPayloadBytes: number;
  readonly maxBatch: number;
}

function refOf(item: unknown, index: number): string {
  if (item && typeof item === 'object' && 'id' in item) {
    const id = (item as { id: unknown }).id;
    if (typeof id === 'string' && id.length > 0 && id.length <= 64) return id;
  }
  return String(index);
}

function describeIssue(issue: { path: PropertyKey[]; message: string }): string {
  const path = issue.path.map(String).join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}

function parseItem(item: unknown, ref: string, ctx: NormaliseContext): Reading | Rejection {
  if (!item || typeof item !== 'object' || Array.isArray(item)) {
    return { ref, code: 'VIGIL_ERR_NOT_A_READING', message: 'each reading must be a JSON object', item };
  }
  const type = (item as { type?: unknown }).type;
  if (!isReadingType(type)) {
    return { ref, code: 'VIGIL_ERR_UNKNOWN_TYPE', message: `unknown reading type ${JSON.stringify(type ?? null).slice(0, 40)}`, item };
  }
  const parsed = WIRE_SCHEMAS[type].safeParse(item);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    return { ref, code: 'VIGIL_ERR_SCHEMA', readingType: type, message: first ? describeIssue(first) : 'invalid reading', item };
  }
  const result = normaliseReading(parsed.data, ctx);
  return result.ok ? result.reading : { ref, code: result.code, message: result.message, readingType: type, item, aheadMs: result.aheadMs };
}

/** One item to judge, with the reference a rejection of it names (its `id`, its index, or a record index). */
export interface PayloadItem {
  readonly ref: string;
  readonly item: unknown;
}

/**
 * Judges items already taken out of their message (wire format v1 objects, or what a SenML pack or a Nightscout
 * upload was translated to). Each item is judged on its own, so one bad reading never costs the rest.
 */
export function parseItems(items: readonly PayloadItem[], ctx: NormaliseContext, earlier: readonly Rejection[] = []): ParsedPayload {
  const readings: Reading[] = [];
  const rejections: Rejection[] = [...earlier];
  for (const { ref, item } of items) {
    const outcome = parseItem(item, ref, ctx);
    if ('code' in outcome) rejections.push(outcome);
    else readings.push(outcome);
  }
  // Rejections from the translation and from judging, in the order of the items sent (refs are their indexes).
  if (earlier.length > 0) rejections.sort((a, b) => orderOf(a.ref) - orderOf(b.ref));
  return { readings, rejections };
}

function orderOf(ref: string): number {
  const index = Number(ref);
  return Number.isInteger(index) ? index : -1;
}

/**
 * One decoder for every payload, not one per message: a decode without `stream` starts afresh (a sequence cut
 * off at the end of one payload is refused, never completed by the next: parse-payload.test.ts).
 */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The checks every JSON payload gets before its items are looked at: size, UTF-8 JSON, then nesting depth. A
 * payload nested past MAX_JSON_DEPTH is refused whole, like one too large: nothing after this point (item
 * judging, the errors topic, the rejection log's JSON.stringify) has to walk 20,000 levels and overflow.
 */
export function parseJsonPayload(payload: Buffer, limits: ParseLimits): { body: unknown } | { rejection: Rejection } {
  if (payload.length > limits.maxPayloadBytes) {
    return { rejection: { ref: '*', code: 'VIGIL_ERR_PAYLOAD_TOO_LARGE', message: `payload is ${payload.length} bytes; the limit is ${limits.maxPayloadBytes}` } };
  }
  let body: unknown;
  try {
    body = JSON.parse(UTF8.decode(payload));
  } catch {
    return { rejection: { ref: '*', code: 'VIGIL_ERR_NOT_JSON', message: 'payload is not valid UTF-8 JSON' } };
  }
  if (nestedDeeperThan(body, MAX_JSON_DEPTH)) {
    return { rejection: { ref: '*', code: 'VIGIL_ERR_TOO_DEEP', message: `payload nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep` } };
  }
  return { body };
}

/** The refusal of a message with more items than VIGIL_MAX_BATCH, or undefined. */
export function batchTooLarge(count: number, limits: ParseLimits): Rejection | undefined {
  if (count <= limits.maxBatch) return undefined;
  return { ref: '*', code: 'VIGIL_ERR_BATCH_TOO_LARGE', message: `${count} readings in one message; the limit is ${limits.maxBatch}` };
}

/**
 * Parses one published payload: a reading or an array of readings (a backlog). Each item is judged on its own,
 * so one bad reading never costs the rest of the batch.
 */
export function parsePayload(payload: Buffer, ctx: NormaliseContext, limits: ParseLimits): ParsedPayload {
  const json = parseJsonPayload(payload, limits);
  if ('rejection' in json) return { readings: [], rejections: [json.rejection] };
  const items = Array.isArray(json.body) ? json.body : [json.body];
  const tooMany = batchTooLarge(items.length, limits);
  if (tooMany) return { readings: [], rejections: [tooMany] };
  return parseItems(
    items.map((item, index) => ({ ref: refOf(item, index), item })),
    ctx,
  );
}
