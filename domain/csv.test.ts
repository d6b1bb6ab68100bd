import { describe, expect, it } from 'vitest';
import { csvCell, csvLines, toCsv } from './csv.js';

describe('CSV', () => {
  it('quotes separators, quotes and line breaks (RFC 4180), and ends lines with CRLF', () => {
    expect(csvLines([['a', 'b,c', 'say "hi"', 'two\nlines', 3, true, null]])).toBe('a,"b,c","say ""hi""","two\nlines",3,true,\r\n');
  });

  it('defuses cells a spreadsheet would run as a formula, but not numbers', () => {
    expect(['=1+1', '+41', '-2', '@SUM(A1)', '\tx'].map(csvCell)).toEqual(["'=1+1", "'+41", "'-2", "'@SUM(A1)", "'\tx"]);
    expect(csvCell(-2)).toBe('-2');
  });

  it('writes objects as JSON and rows by column name', () => {
    expect(toCsv(['id', 'details'], [{ id: 1, details: { a: 1 } }, { id: 2 }])).toBe('id,details\r\n1,"{""a"":1}"\r\n2,\r\n');
  });
});
