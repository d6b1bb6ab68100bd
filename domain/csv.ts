/**
 * RFC 4180 CSV, for every export Vigil writes: fields with a comma, quote or line break are quoted, quotes
 * doubled, lines end with CRLF. A text cell that a spreadsheet would run as a formula (starting with = + - @, a
 * tab or a carriage return) gets a leading apostrophe (OWASP, "CSV injection"): exports are opened by people,
 * in spreadsheets. Objects are written as JSON.
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  let text = typeof value === 'string' ? value : JSON.stringify(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Rows given as arrays of cells (the first row usually the header). */
export function csvLines(rows: readonly (readonly unknown[])[]): string {
  return rows.map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

/** A header of column names, then one line per row object (its values by column name). */
export function toCsv(columns: readonly string[], rows: readonly Record<string, unknown>[]): string {
  return csvLines([columns, ...rows.map((row) => columns.map((c) => row[c]))]);
}
