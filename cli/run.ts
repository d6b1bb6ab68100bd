import { VigilError } from '../domain/index.js';
import { explain } from './failure.js';
import { loadConfig, type VigilConfig } from '../app/config.js';
import type { Actor } from '../state/index.js';

/** Settings from VIGIL_* variables, with command-line options taking precedence. */
export function configFrom(overrides: Record<string, string | number | undefined>): Readonly<VigilConfig> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const [key, value] of Object.entries(overrides)) if (value !== undefined) env[key] = String(value);
  return loadConfig(env);
}

/**
 * Runs a command body and turns an expected failure into one line on stderr and an exit code (1 failure,
 * 2 usage), never a stack trace; only an unexpected error (a bug) keeps its stack, for the report.
 */
export function action<A extends unknown[]>(body: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await body(...args);
    } catch (err) {
      const known = explain(err);
      if (!known) throw err;
      process.stderr.write(`vigil: ${known.message}\n`);
      process.exitCode = known.exitCode;
      // A server that failed to listen may hold other listeners open: nothing is left to wait for.
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') process.exit(known.exitCode);
    }
  };
}

export function printTable(rows: readonly Record<string, unknown>[]): void {
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const columns = Object.keys(rows[0]!);
  const text = (v: unknown) => (v === null || v === undefined ? '-' : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => text(r[c]).length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd();
  process.stdout.write(`${line(columns)}\n`);
  for (const row of rows) process.stdout.write(`${line(columns.map((c) => text(row[c])))}\n`);
}

export function isoOrDash(ms: number | null | undefined): string {
  return ms ? new Date(ms).toISOString() : '-';
}

/** "90s", "15m", "24h", "7d" to milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) throw new VigilError('VIGIL_ERR_CONFIG', `"${text}" is not a duration like 90s, 15m, 24h or 7d`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

/** The operator named by `--by`, for the audit log. */
export function requireActor(by: string | undefined): Actor {
  if (!by || !/^[\w .@-]{1,64}$/.test(by)) throw new VigilError('VIGIL_ERR_CONFIG', '--by <name> is required: the audit log records who acted');
  return { name: by, origin: 'cli' };
}
