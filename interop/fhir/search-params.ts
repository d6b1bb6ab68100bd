import { VigilError } from '../../domain/index.js';
import { fromFhirId } from './ids.js';

/** A query string as Fastify parses it: a repeated parameter is an array. */
export type Query = Readonly<Record<string, string | string[] | undefined>>;

export const DEFAULT_COUNT = 100;
export const MAX_COUNT = 1000;

const bad = (message: string) => new VigilError('VIGIL_ERR_BAD_REQUEST', message);

/** Every value of a parameter, in order; `a=1&a=2` is two values (AND), `a=1,2` one value with a list (OR). */
export function values(query: Query, name: string): string[] {
  const value = query[name];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

export function single(query: Query, name: string): string | undefined {
  const all = values(query, name);
  if (all.length > 1) throw bad(`${name} may be given once`);
  return all[0];
}

/**
 * Parameters this search does not know are refused, not ignored (FHIR lets a server do either, 3.1.1.4.1): a
 * filter a client believed applied but was not would hand a clinician the wrong patient's or period's data.
 */
export function onlyKnown(query: Query, known: readonly string[]): void {
  const allowed = new Set([...known, '_count', '_offset', '_format']);
  const unknown = Object.keys(query).filter((name) => !allowed.has(name));
  if (unknown.length > 0) throw bad(`unsupported search parameter ${unknown.join(', ')} (supported: ${[...allowed].join(', ')})`);
  const format = single(query, '_format');
  if (format !== undefined && !['json', 'application/json', 'application/fhir+json'].includes(format)) throw bad('_format: Vigil answers JSON only');
}

/** `_count` (default 100, at most 1000) and `_offset` (where the page starts, from the paging links). */
export function paging(query: Query): { count: number; offset: number } {
  const count = wholeNumber(single(query, '_count'), '_count', DEFAULT_COUNT);
  const offset = wholeNumber(single(query, '_offset'), '_offset', 0);
  if (count < 1 || count > MAX_COUNT) throw bad(`_count must be from 1 to ${MAX_COUNT}`);
  return { count, offset };
}

function wholeNumber(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d{1,9}$/.test(text)) throw bad(`${name} must be a whole number`);
  return Number(text);
}

/** A reference parameter (`patient=123`, `patient=Patient/123`) as a Vigil id; undefined for an id Vigil cannot hold. */
export function patientReference(text: string): string | undefined {
  const id = text.startsWith('Patient/') ? text.slice('Patient/'.length) : text;
  if (id.includes('/')) throw bad('patient must be an id or Patient/<id>');
  return fromFhirId(id);
}

/** A token (`system|code`, `code`, or `|code` for a code without system); a comma separates alternatives. */
export interface Token {
  readonly system: string | undefined;
  readonly code: string;
}

export function tokens(text: string): Token[] {
  return text.split(',').map((part) => {
    const bar = part.indexOf('|');
    if (bar < 0) return { system: undefined, code: part };
    return { system: part.slice(0, bar), code: part.slice(bar + 1) };
  });
}

/**
 * The end of a period the client left open: a year from now, since readings may be stamped a little ahead of the
 * server clock (VIGIL_FUTURE_TOLERANCE_SECONDS) and must not be cut off.
 */
export function openEnd(now: number): number {
  return now + 366 * 86_400_000;
}

/** A half-open range of epoch ms [from, to). */
export interface TimeRange {
  readonly from: number;
  readonly to: number;
}

const DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?)?)?$/;

/**
 * The range a FHIR date value covers at its precision (R4 search, 3.1.1.5.7): `2026` is the year, `2026-11` the
 * month, `2026-11-28` the day (in UTC: Vigil has no other zone for the server), `2026-11-28T10:00Z` the minute and
 * a time with seconds the second. A time must carry its zone, as FHIR requires.
 */
export function dateRange(text: string): TimeRange {
  const m = DATE.exec(text);
  if (!m) throw bad(`date ${text}: expected YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss[.fff]] with Z or an offset`);
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  if (h !== undefined) {
    const start = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s ?? '00'}${frac ?? ''}${zone}`);
    if (Number.isNaN(start)) throw bad(`date ${text} is not a valid time`);
    return { from: start, to: start + (frac ? 1 : s !== undefined ? 1000 : 60_000) };
  }
  const month = mo === undefined ? undefined : Number(mo) - 1;
  const day = d === undefined ? undefined : Number(d);
  if (month !== undefined && (month < 0 || month > 11)) throw bad(`date ${text} has no such month`);
  const from = Date.UTC(year, month ?? 0, day ?? 1);
  if (day !== undefined && new Date(from).getUTCDate() !== day) throw bad(`date ${text} has no such day`);
  const to = day !== undefined ? Date.UTC(year, month!, day + 1) : month !== undefined ? Date.UTC(year, month + 1, 1) : Date.UTC(year + 1, 0, 1);
  return { from, to };
}

/**
 * The period every `date` value allows, intersected: `date=ge2026-11-01&date=lt2026-12-01` is November. Prefixes
 * eq (the default), ge, gt, le, lt; a reading's time is a point, so `gt` means after the value's whole range and
 * `le` up to its end. Others (ne, sa, eb, ap) are refused.
 */
export function dateFilter(params: readonly string[], unbounded: TimeRange): TimeRange {
  let { from, to } = unbounded;
  for (const param of params) {
    const prefix = /^(eq|ne|gt|lt|ge|le|sa|eb|ap)/.exec(param)?.[1] ?? 'eq';
    const range = dateRange(param.startsWith(prefix) ? param.slice(prefix.length) : param);
    switch (prefix) {
      case 'eq':
        from = Math.max(from, range.from);
        to = Math.min(to, range.to);
        break;
      case 'ge':
        from = Math.max(from, range.from);
        break;
      case 'gt':
        from = Math.max(from, range.to);
        break;
      case 'le':
        to = Math.min(to, range.to);
        break;
      case 'lt':
        to = Math.min(to, range.from);
        break;
      default:
        throw bad(`date prefix ${prefix} is not supported (eq, ge, gt, le, lt are)`);
    }
  }
  return { from, to: Math.max(from, to) };
}
