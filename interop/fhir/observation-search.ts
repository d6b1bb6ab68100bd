import { READING_TYPES, VigilError, type ReadingType } from '../../domain/index.js';
import type { InteropSources } from '../ports.js';
import { OBSERVATION_KINDS } from './observation-codes.js';
import { toObservation } from './observation.js';
import type { TimeRange, Token } from './search-params.js';
import { LOINC, type CodeableConcept, type Resource } from './types.js';

export interface ObservationSearch {
  readonly patientId: string;
  readonly period: TimeRange;
  /** Any of these codes (absent: every type). */
  readonly codes?: readonly Token[] | undefined;
  /** Any of these categories (absent: every type). */
  readonly categories?: readonly Token[] | undefined;
  readonly count: number;
  readonly offset: number;
}

const CATEGORY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/observation-category';

function matchesCode(code: CodeableConcept, wanted: readonly Token[]): boolean {
  return wanted.some((t) => (code.coding ?? []).some((c) => c.code === t.code && (t.system === undefined || t.system === c.system)));
}

/** The types a search can find: a type whose codes or category the filters name (cheap, before any query). */
function typesFor(search: ObservationSearch): ReadingType[] {
  return READING_TYPES.filter((type) => {
    const kind = OBSERVATION_KINDS[type];
    const code = !search.codes || search.codes.some((t) => (t.system === undefined || t.system === LOINC) && kind.loinc.includes(t.code));
    const category = !search.categories || search.categories.some((t) => (t.system === undefined || t.system === CATEGORY_SYSTEM) && t.code === kind.category);
    return code && category;
  });
}

/**
 * One page of a patient's Observations, oldest first: each candidate type is read from the store up to the end of
 * the page (the store returns the oldest first, `limit` bounds it), built as Observations, filtered by code (the
 * glucose code depends on meter or CGM), merged by time. When a filter drops readings, the query reads further,
 * four times as much each round, until the page is full or the type has no more: a deep page costs its offset.
 */
export async function searchObservations(sources: InteropSources, search: ObservationSearch): Promise<{ page: Resource[]; more: boolean }> {
  if (search.period.to <= search.period.from) return { page: [], more: false };
  const need = search.offset + search.count + 1;
  const found: { time: number; type: ReadingType; resource: Resource }[] = [];
  for (const type of typesFor(search)) {
    for (let limit = need; ; limit *= 4) {
      const points = await sources.readings.queryRaw({ patientId: search.patientId, type, from: search.period.from, to: search.period.to, limit });
      const matching = points
        .map((p) => ({ time: p.time, type, resource: toObservation({ patientId: search.patientId, type, ...p }) }))
        .filter((o) => !search.codes || matchesCode(o.resource.code as CodeableConcept, search.codes));
      if (matching.length >= need || points.length < limit) {
        found.push(...matching.slice(0, need));
        break;
      }
      if (limit > 10_000_000) throw new VigilError('VIGIL_ERR_BAD_REQUEST', 'the search reaches too deep: narrow the date range');
    }
  }
  found.sort((a, b) => a.time - b.time || a.type.localeCompare(b.type) || String(a.resource.id).localeCompare(String(b.resource.id)));
  return { page: found.slice(search.offset, search.offset + search.count).map((f) => f.resource), more: found.length > search.offset + search.count };
}
