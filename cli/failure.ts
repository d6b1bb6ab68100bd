import { CommanderError } from 'commander';
import { VigilError } from '../domain/index.js';
import { StoreRejectedError, StoreUnavailableError } from '../ingest/index.js';

/** Exit codes of every command (documented in `vigil --help` and docs/operations.md). */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** A command was used wrongly (a bad argument or option): exit code 2, with what is allowed. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** An expected failure that is not a coded Vigil error (the gateway refused, the data dir is missing): exit 1. */
export class CommandFailed extends Error {
  override name = 'CommandFailed';
}

const SQLITE: Record<string, string> = {
  SQLITE_NOTADB: 'is not a Vigil state database (or is damaged); restore it from a backup',
  SQLITE_CORRUPT: 'is damaged; restore it from a backup',
  SQLITE_BUSY: 'is locked by another process for longer than 5 s; try again',
  SQLITE_LOCKED: 'is locked by another process; try again',
  SQLITE_READONLY: 'is read-only for this user',
  SQLITE_CANTOPEN: 'cannot be opened (check the data dir and its permissions)',
  SQLITE_FULL: 'cannot grow: the disk is full',
  SQLITE_IOERR: 'could not be read or written (an I/O error)',
};

const NETWORK: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is Vigil running, and on this port?)',
  ECONNRESET: 'the connection was reset',
  ENOTFOUND: 'the host name does not resolve',
  EHOSTUNREACH: 'the host is unreachable',
  ETIMEDOUT: 'the connection timed out',
  EADDRINUSE: 'the port is in use',
  EACCES: 'permission denied',
  EADDRNOTAVAIL: 'the address is not available here',
  ENOENT: 'no such file or directory',
  EROFS: 'read-only file system',
  ENOSPC: 'the disk is full',
};

/** CONNACK return codes mqtt.js reports when the gateway refuses a connection (MQTT 3.1.1 table 3.1). */
const CONNACK: Record<number, string> = {
  1: 'the gateway refused the MQTT protocol version',
  2: 'the gateway refused the client id',
  3: 'the gateway is unavailable or throttling logins (retry later)',
  4: 'the gateway refused the device id or secret (is the device provisioned in the data dir of the Vigil it connects to?)',
  5: 'the gateway refused the device (not authorized: revoked or unassigned?)',
};

/**
 * What a user should read for a failure, and the exit code; undefined for an unexpected error (a bug), whose
 * stack trace is worth printing. Every expected failure of a command is explained here, in one place.
 */
export function explain(err: unknown): { message: string; exitCode: number } | undefined {
  if (err instanceof CommanderError) return { message: '', exitCode: err.exitCode === 0 ? EXIT.ok : EXIT.usage };
  if (err instanceof UsageError) return { message: err.message, exitCode: EXIT.usage };
  if (err instanceof CommandFailed) return { message: err.message, exitCode: EXIT.failure };
  if (err instanceof VigilError) return { message: `${err.message} [${err.code}]`, exitCode: err.code === 'VIGIL_ERR_CONFIG' ? EXIT.usage : EXIT.failure };
  // The reading store (InfluxDB) is down, refuses the credentials, or refused the query: its message says which.
  if (err instanceof StoreUnavailableError || err instanceof StoreRejectedError) return { message: err.message, exitCode: EXIT.failure };
  if (!(err instanceof Error)) return undefined;
  const e = err as Error & { code?: unknown; address?: string; port?: number; path?: string; hostname?: string };
  if (err.name === 'SqliteError' && typeof e.code === 'string') {
    const why = SQLITE[e.code] ?? SQLITE[e.code.replace(/_[A-Z]+$/, '')];
    if (why) return { message: `the state database ${why} (${e.code})`, exitCode: EXIT.failure };
  }
  if (typeof e.code === 'number' && CONNACK[e.code] && /refused/i.test(err.message)) {
    return { message: `${CONNACK[e.code]} (CONNACK ${e.code})`, exitCode: EXIT.failure };
  }
  if (typeof e.code === 'string' && NETWORK[e.code]) {
    const where = e.address ? `${e.address}${e.port ? `:${e.port}` : ''}` : (e.hostname ?? e.path ?? '');
    const listening = 'syscall' in e && e.syscall === 'listen';
    return { message: `${listening ? 'cannot listen on ' : ''}${where || 'error'}: ${NETWORK[e.code]}`, exitCode: EXIT.failure };
  }
  // fetch() wraps the network error as its cause.
  if (err.name === 'TypeError' && err.message === 'fetch failed' && err.cause) return explain(err.cause);
  return undefined;
}
