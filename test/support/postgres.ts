import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { freePort } from './ports.js';
import { tempDir } from './temp.js';

const run = promisify(execFile);
const BIN = '/usr/lib/postgresql/15/bin';
const NOBODY = { uid: 65534, gid: 65534 };
const USER = 'vigil';
const PASSWORD = 'vigil-test-password';

export interface PostgresInstance {
  readonly port: number;
  /** A new, empty database on this server, as a VIGIL_DATABASE_URL (with the password). */
  createDatabase(name: string): Promise<string>;
  /** An outage: a fast shutdown (clients' sessions are ended, as an administrator's restart ends them). */
  stop(): Promise<void>;
  /** The same server again, on the same port and data dir. */
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * A throwaway PostgreSQL 15 (Debian's postgresql) in a temp dir on a free loopback port, with password
 * authentication (SCRAM) as production has it. PostgreSQL refuses to run as root, so under root the cluster
 * belongs to `nobody` (field-notes.md). fsync is off: a test cluster is never recovered after a crash.
 */
export async function startPostgres(): Promise<PostgresInstance> {
  if (!existsSync(join(BIN, 'initdb'))) throw new Error(`${BIN}/initdb not found: install Debian's postgresql package (see .ci/run)`);
  const dir = await tempDir('vigil-pg-');
  const asRoot = process.getuid?.() === 0;
  const as = (command: string, args: string[]) => (asRoot ? run('runuser', ['-u', 'nobody', '--', join(BIN, command), ...args]) : run(join(BIN, command), args));
  const data = join(dir.path, 'data');
  const pwfile = join(dir.path, 'pwfile');
  await writeFile(pwfile, `${PASSWORD}\n`, { mode: 0o600 });
  if (asRoot) {
    await chown(dir.path, NOBODY.uid, NOBODY.gid);
    await chown(pwfile, NOBODY.uid, NOBODY.gid);
  }
  await chmod(dir.path, 0o700);
  const port = await freePort();
  const options = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir.path} -c fsync=off -c full_page_writes=off`;
  const start = () => as('pg_ctl', ['start', '-D', data, '-w', '-t', '60', '-l', join(dir.path, 'log'), '-o', options]);
  let started = false;
  try {
    await as('initdb', ['-D', data, '-U', USER, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--no-sync']);
    await start();
    started = true;
  } catch (err) {
    await dir.remove();
    throw err;
  }
  const url = (database: string) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}?sslmode=disable`;
  return {
    port,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
      const admin = new pg.Client({ connectionString: url('postgres') });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      return url(name);
    },
    async stop() {
      await as('pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w', '-t', '60']);
      started = false;
    },
    async start() {
      await start();
      started = true;
    },
    async destroy() {
      if (started) await as('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']).catch(() => undefined);
      await dir.remove();
    },
  };
}

/**
 * One throwaway PostgreSQL for the calling test file, started before its tests and removed after them;
 * `database()` gives each caller a new, empty database on it (`<prefix>_1`, `<prefix>_2`, ...).
 */
export function postgresForFile(prefix: string): { database(): Promise<string>; server(): PostgresInstance } {
  let server: PostgresInstance | undefined;
  let databases = 0;
  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await server?.destroy();
  });
  const started = () => {
    if (!server) throw new Error('PostgreSQL did not start');
    return server;
  };
  return { database: () => started().createDatabase(`${prefix}_${++databases}`), server: started };
}
