import { isRepresentableTime } from '../domain/index.js';
import type { PayloadItem, Rejection } from './parse-payload.js';

/**
 * SenML (RFC 8428) JSON packs translated to wire format v1 readings, which intake then judges like any other
 * (docs/device-protocol.md "SenML"). Only what the RFC defines is read; the mapping of names and units to
 * Vigil's reading types is Vigil's own, documented there.
 */

/** RFC 8428 §4.5.1: a name starts with a letter or digit and holds only these characters. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9\-:./_]*$/;
/** RFC 8428 §4.5.3: times below 2**28 seconds are relative to now. */
const RELATIVE_TIME_LIMIT = 2 ** 28;
/** RFC 8428 §4.4: the version this reader implements (the default of `bver`). */
const SENML_VERSION = 10;
/** RFC 8428 §4.1 and §4.2 labels; any other label ending in `_` is one the reader must understand (§4.4). */
const KNOWN_FIELDS = new Set(['bn', 'bt', 'bu', 'bv', 'bs', 'bver', 'n', 'u', 'v', 'vs', 'vb', 'vd', 's', 't', 'ut']);

/** A record after base-field resolution (§4.6), before its name is mapped. */
interface ResolvedRecord {
  readonly index: number;
  readonly name: string;
  readonly unit: string | undefined;
  readonly value: number;
  /** Epoch milliseconds. */
  readonly time: number;
}

type Measurement =
  | { readonly kind: 'glucose'; readonly source: 'meter' | 'cgm' }
  | { readonly kind: 'systolic' | 'diastolic' | 'weight' | 'spo2' | 'heart_rate' | 'temperature' };

/**
 * The last segment of the resolved name (after its last `:` or `/`) says what was measured, so that a device
 * may put its own identifier in the base name (`urn:dev:mac:0024befffe804ff1:` + `glucose`).
 */
const MEASUREMENTS: Readonly<Record<string, Measurement>> = {
  glucose: { kind: 'glucose', source: 'meter' },
  'cgm-glucose': { kind: 'glucose', source: 'cgm' },
  systolic: { kind: 'systolic' },
  diastolic: { kind: 'diastolic' },
  weight: { kind: 'weight' },
  spo2: { kind: 'spo2' },
  'heart-rate': { kind: 'heart_rate' },
  temperature: { kind: 'temperature' },
};

/** Units accepted per measurement, and how each becomes a wire unit (RFC 8428 §12.1 names where it has one). */
const UNITS: Readonly<Record<Measurement['kind'], Readonly<Record<string, (v: number) => { value: number; unit?: string }>>>> = {
  glucose: { 'mg/dL': (v) => ({ value: v, unit: 'mg/dL' }), 'mmol/L': (v) => ({ value: v, unit: 'mmol/L' }) },
  systolic: { mmHg: (v) => ({ value: v, unit: 'mmHg' }), kPa: (v) => ({ value: v, unit: 'kPa' }) },
  diastolic: { mmHg: (v) => ({ value: v, unit: 'mmHg' }), kPa: (v) => ({ value: v, unit: 'kPa' }) },
  weight: { kg: (v) => ({ value: v, unit: 'kg' }), g: (v) => ({ value: v / 1000, unit: 'kg' }), lb: (v) => ({ value: v, unit: 'lb' }) },
  // "%" (RFC 8798) or "/" (a ratio, RFC 8428 §12.1).
  spo2: { '%': (v) => ({ value: v }), '/': (v) => ({ value: Math.round(v * 1000) / 10 }) },
  heart_rate: { 'beat/min': (v) => ({ value: v }), '1/min': (v) => ({ value: v }) },
  temperature: { Cel: (v) => ({ value: v, unit: 'Cel' }), K: (v) => ({ value: Math.round((v - 273.15) * 100) / 100, unit: 'Cel' }) },
};

export interface TranslatedPack {
  readonly items: PayloadItem[];
  readonly rejections: Rejection[];
}

function refuse(ref: string, message: string, item?: unknown): Rejection {
  return { ref, code: 'VIGIL_ERR_SENML', message, item };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** RFC 8428 §4.6 resolution of base fields, record by record; `now` anchors relative times. */
function resolve(pack: readonly unknown[], now: number): { records: ResolvedRecord[]; rejections: Rejection[] } | { refused: Rejection } {
  // §4.4: a field the reader must understand but does not makes the whole pack unusable.
  for (const record of pack) {
    if (!isObject(record)) continue;
    const unknown = Object.keys(record).find((k) => k.endsWith('_') && !KNOWN_FIELDS.has(k));
    if (unknown) return { refused: refuse('*', `the pack uses the must-understand field "${unknown.slice(0, 40)}", which Vigil does not understand (RFC 8428 §4.4)`) };
    if (typeof record.bver === 'number' && record.bver > SENML_VERSION) {
      return { refused: refuse('*', `bver ${record.bver} is newer than the SenML version Vigil reads (${SENML_VERSION})`) };
    }
  }
  const records: ResolvedRecord[] = [];
  const rejections: Rejection[] = [];
  let bn = '';
  let bt = 0;
  let bu: string | undefined;
  let bv = 0;
  pack.forEach((record, index) => {
    const ref = String(index);
    if (!isObject(record)) return rejections.push(refuse(ref, 'each SenML record must be a JSON object', record));
    for (const [label, kind] of [['bn', 'string'], ['bt', 'number'], ['bu', 'string'], ['bv', 'number'], ['bver', 'number'], ['n', 'string'], ['u', 'string'], ['v', 'number'], ['t', 'number']] as const) {
      if (record[label] !== undefined && typeof record[label] !== kind) return rejections.push(refuse(ref, `${label} must be a ${kind}`, record));
    }
    // Base fields apply to this record and those after it, until set again (§4.1).
    if (record.bn !== undefined) bn = record.bn as string;
    if (record.bt !== undefined) bt = record.bt as number;
    if (record.bu !== undefined) bu = record.bu as string;
    if (record.bv !== undefined) bv = record.bv as number;
    const name = bn + ((record.n as string | undefined) ?? '');
    if (!NAME.test(name)) return rejections.push(refuse(ref, `name ${JSON.stringify(name.slice(0, 80))} is empty or has characters RFC 8428 §4.5.1 does not allow`, record));
    if (record.v === undefined) {
      const other = ['vs', 'vb', 'vd', 's'].find((k) => record[k] !== undefined);
      return rejections.push(refuse(ref, other ? `${other}: only numeric values (v) map to readings` : 'the record has no value (v)', record));
    }
    const seconds = bt + ((record.t as number | undefined) ?? 0);
    const time = Math.round((seconds < RELATIVE_TIME_LIMIT ? now / 1000 + seconds : seconds) * 1000);
    if (!Number.isFinite(time)) return rejections.push(refuse(ref, 'the time is not a finite number', record));
    // A finite time can still be past what a Date holds (t 1e17 s): refused here, before it is made an ISO string.
    if (!isRepresentableTime(time)) return rejections.push(refuse(ref, 'the time is beyond the years -271821 to 275760 a date can hold', record));
    records.push({ index, name, unit: (record.u as string | undefined) ?? bu, value: bv + (record.v as number), time });
  });
  return { records, rejections };
}

/** The measurement a resolved name stands for: its last segment after `:` or `/`. */
function measurementOf(name: string): Measurement | undefined {
  const segment = name.slice(Math.max(name.lastIndexOf(':'), name.lastIndexOf('/')) + 1);
  return Object.hasOwn(MEASUREMENTS, segment) ? MEASUREMENTS[segment] : undefined;
}

/** Converts the record's value to the unit a wire reading takes; a rejection names the unit when it is not accepted. */
function converted(record: ResolvedRecord, kind: Measurement['kind'], raw: unknown): { value: number; unit?: string } | Rejection {
  const units = UNITS[kind];
  const convert = record.unit !== undefined && Object.hasOwn(units, record.unit) ? units[record.unit] : undefined;
  if (!convert) {
    return { ref: String(record.index), code: 'VIGIL_ERR_SCHEMA', readingType: kind, item: raw, message: `u: ${JSON.stringify(record.unit ?? null)} is not a unit Vigil accepts for ${kind} (${Object.keys(units).join(', ')})` };
  }
  return convert(record.value);
}

/**
 * Translates a SenML pack (already parsed JSON) to wire readings. Systolic and diastolic records with the same
 * base name (the name before the measurement) and time become one blood pressure reading.
 */
export function translateSenml(body: unknown, now: number): TranslatedPack {
  if (!Array.isArray(body)) return { items: [], rejections: [refuse('*', 'a SenML pack is a JSON array of records (RFC 8428 §4.2)')] };
  const resolved = resolve(body, now);
  if ('refused' in resolved) return { items: [], rejections: [resolved.refused] };
  const { records, rejections } = resolved;
  const items: PayloadItem[] = [];
  const pressures = new Map<string, { systolic?: ResolvedRecord; diastolic?: ResolvedRecord }>();
  for (const record of records) {
    const raw = body[record.index];
    const measurement = measurementOf(record.name);
    if (!measurement) {
      rejections.push({ ref: String(record.index), code: 'VIGIL_ERR_UNKNOWN_TYPE', item: raw, message: `SenML name ${JSON.stringify(record.name.slice(0, 80))} does not end in a measurement Vigil maps (${Object.keys(MEASUREMENTS).join(', ')})` });
      continue;
    }
    const time = new Date(record.time).toISOString();
    if (measurement.kind === 'systolic' || measurement.kind === 'diastolic') {
      const group = `${record.name.slice(0, record.name.length - measurement.kind.length)}|${record.time}`;
      const pair = pressures.get(group) ?? {};
      if (pair[measurement.kind]) {
        rejections.push({ ref: String(record.index), code: 'VIGIL_ERR_SCHEMA', readingType: 'blood_pressure', item: raw, message: `a second ${measurement.kind} record for the same name and time` });
        continue;
      }
      pair[measurement.kind] = record;
      pressures.set(group, pair);
      continue;
    }
    const value = converted(record, measurement.kind, raw);
    if ('code' in value) {
      rejections.push(value);
      continue;
    }
    const type = measurement.kind;
    items.push({ ref: String(record.index), item: { type, time, ...value, ...(measurement.kind === 'glucose' ? { source: measurement.source } : {}) } });
  }
  for (const { systolic, diastolic } of pressures.values()) {
    const first = (systolic ?? diastolic)!;
    const raw = body[first.index];
    if (!systolic || !diastolic) {
      const missing = systolic ? 'diastolic' : 'systolic';
      rejections.push({ ref: String(first.index), code: 'VIGIL_ERR_SCHEMA', readingType: 'blood_pressure', item: raw, message: `${missing}: no ${missing} record with the same base name and time` });
      continue;
    }
    const sys = converted(systolic, 'systolic', raw);
    const dia = converted(diastolic, 'diastolic', body[diastolic.index]);
    if ('code' in sys) rejections.push(sys);
    else if ('code' in dia) rejections.push(dia);
    else if (sys.unit !== dia.unit) {
      rejections.push({ ref: String(first.index), code: 'VIGIL_ERR_SCHEMA', readingType: 'blood_pressure', item: raw, message: `unit: systolic in ${sys.unit} and diastolic in ${dia.unit}; send both in the same unit` });
    } else {
      items.push({ ref: String(first.index), item: { type: 'blood_pressure', time: new Date(first.time).toISOString(), systolic: sys.value, diastolic: dia.value, unit: sys.unit } });
    }
  }
  // In the order of the pack, as a device reads its errors.
  const byIndex = (ref: string) => (ref === '*' ? -1 : Number(ref));
  rejections.sort((a, b) => byIndex(a.ref) - byIndex(b.ref));
  items.sort((a, b) => byIndex(a.ref) - byIndex(b.ref));
  return { items, rejections };
}
