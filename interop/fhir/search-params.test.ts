import { describe, expect, it } from 'vitest';
import { dateFilter, dateRange, onlyKnown, paging, patientReference, tokens } from './search-params.js';

const ms = (iso: string) => Date.parse(iso);
const ALL = { from: 0, to: ms('2100-01-01T00:00:00Z') };

describe('FHIR search parameters (R4 search, 3.1.1.5)', () => {
  it('reads a date at its precision as the range it covers', () => {
    expect(dateRange('2026')).toEqual({ from: ms('2026-01-01T00:00:00Z'), to: ms('2027-01-01T00:00:00Z') });
    expect(dateRange('2026-02')).toEqual({ from: ms('2026-02-01T00:00:00Z'), to: ms('2026-03-01T00:00:00Z') });
    expect(dateRange('2026-12-31')).toEqual({ from: ms('2026-12-31T00:00:00Z'), to: ms('2027-01-01T00:00:00Z') });
    expect(dateRange('2026-11-28T10:15+01:00')).toEqual({ from: ms('2026-11-28T09:15:00Z'), to: ms('2026-11-28T09:16:00Z') });
    expect(dateRange('2026-11-28T10:15:30Z')).toEqual({ from: ms('2026-11-28T10:15:30Z'), to: ms('2026-11-28T10:15:31Z') });
    for (const bad of ['2026-13', '2026-02-30', '2026-11-28T10:15', 'yesterday', '26-11-28']) expect(() => dateRange(bad), bad).toThrow(/date/);
  });

  it('intersects prefixed dates; gt is after the whole range and le up to its end', () => {
    expect(dateFilter(['ge2026-11-01', 'lt2026-12-01'], ALL)).toEqual({ from: ms('2026-11-01T00:00:00Z'), to: ms('2026-12-01T00:00:00Z') });
    expect(dateFilter(['gt2026-11-01', 'le2026-11-03'], ALL)).toEqual({ from: ms('2026-11-02T00:00:00Z'), to: ms('2026-11-04T00:00:00Z') });
    expect(dateFilter(['2026-11-28'], ALL)).toEqual({ from: ms('2026-11-28T00:00:00Z'), to: ms('2026-11-29T00:00:00Z') });
    expect(dateFilter(['eq2026-11-28'], ALL)).toEqual(dateFilter(['2026-11-28'], ALL));
    // Contradictory bounds: an empty range, not an error.
    const empty = dateFilter(['ge2026-12-01', 'lt2026-11-01'], ALL);
    expect(empty.to).toBe(empty.from);
    expect(() => dateFilter(['ne2026-11-28'], ALL)).toThrow(/prefix ne/);
    expect(() => dateFilter(['ap2026-11-28'], ALL)).toThrow(/prefix ap/);
  });

  it('reads tokens, references and paging, and refuses what it does not know', () => {
    expect(tokens('http://loinc.org|8867-4,85354-9')).toEqual([{ system: 'http://loinc.org', code: '8867-4' }, { system: undefined, code: '85354-9' }]);
    expect(patientReference('Patient/p-1.2')).toBe('p-1_2');
    expect(patientReference('p-1')).toBe('p-1');
    expect(() => patientReference('http://other/Patient/1')).toThrow(/patient/);
    expect(paging({})).toEqual({ count: 100, offset: 0 });
    expect(paging({ _count: '5', _offset: '10' })).toEqual({ count: 5, offset: 10 });
    expect(() => paging({ _count: '0' })).toThrow(/_count/);
    expect(() => paging({ _count: '1001' })).toThrow(/_count/);
    expect(() => paging({ _offset: '-1' })).toThrow(/_offset/);
    expect(() => onlyKnown({ patient: 'x', _sort: 'date' }, ['patient'])).toThrow(/unsupported search parameter _sort/);
    expect(() => onlyKnown({ patient: 'x', _format: 'xml' }, ['patient'])).toThrow(/JSON only/);
    expect(() => onlyKnown({ patient: 'x', _format: 'json', _count: '3' }, ['patient'])).not.toThrow();
  });
});
