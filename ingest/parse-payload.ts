import {
  isReadingType,
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

function parseItem(item: unknown, index: number, ctx: NormaliseContext): Reading | Rejection {
  const ref = refOf(item, index);
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

/**
 * Parses one published payload: a reading or an array of readings (a backlog). Each item is judged on its own,
 * so one bad reading never costs the rest of the batch.
 */
export function parsePayload(payload: Buffer, ctx: NormaliseContext, limits: ParseLimits): ParsedPayload {
  if (payload.length > limits.maxPayloadBytes) {
    return {
      readings: [],
      rejections: [
        {
          ref: '*',
          code: 'VIGIL_ERR_PAYLOAD_TOO_LARGE',
          message: `payload is ${payload.length} bytes; the limit is ${limits.maxPayloadBytes}`,
        },
      ],
    };
  }
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    return { readings: [], rejections: [{ ref: '*', code: 'VIGIL_ERR_NOT_JSON', message: 'payload is not valid UTF-8 JSON' }] };
  }
  const items = Array.isArray(body) ? body : [body];
  if (items.length > limits.maxBatch) {
    return {
      readings: [],
      rejections: [
        {
          ref: '*',
          code: 'VIGIL_ERR_BATCH_TOO_LARGE',
          message: `${items.length} readings in one message; the limit is ${limits.maxBatch}`,
        },
      ],
    };
  }
  const readings: Reading[] = [];
  const rejections: Rejection[] = [];
  items.forEach((item, index) => {
    const outcome = parseItem(item, index, ctx);
    if ('key' in outcome) readings.push(outcome);
    else rejections.push(outcome);
  });
  return { readings, rejections };
}
