/**
 * A throwaway PostgreSQL 15 (Debian's postgresql) in a temp dir on a free loopback port, with password
 * authentication (SCRAM) as production has it: the bench's shared-alerts rows and the tests
 * (test/support/postgres.ts) start theirs here. PostgreSQL refuses to run as root, so under root the cluster
 * belongs to `nobody`.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './ports.js';

const run = promisify(execFile);
const BIN = '/usr/lib/postgresql/15/bin';
const NOBODY = { uid: 65534, gid: 65534 };
const USER = 'vigil';

export interface PostgresCluster {
  readonly port: number;
  /** A new, empty database on this server, as a VIGIL_DATABASE_URL (with the password). */
  createDatabase(name: string): Promise<string>;
  /** The postmaster's pid: its backends are its children. */
  pid(): number;
  /** An outage: a fast shutdown (clients' sessions are ended, as an administrator's restart ends them). */
  stop(): Promise<void>;
  /** The same server again, on the same port and data dir. */
  start(): Promise<void>;
  /** Stopped at once if running, and its files removed. */
  destroy(): Promise<void>;
}

export interface ClusterOptions {
  readonly password: string;
  /**
   * PostgreSQL's durability defaults (fsync on): every commit waits for the disk, as a production server's does,
   * which is part of what the bench measures. Off for tests: a test cluster is never recovered after a crash.
   */
  readonly durable: boolean;
  readonly prefix: string;
}

export function postgresInstalled(): boolean {
  return existsSync(join(BIN, 'initdb'));
}

export async function startPostgresCluster({ password, durable, prefix }: ClusterOptions): Promise<PostgresCluster> {
  if (!postgresInstalled()) throw new Error(`${BIN}/initdb not found: install Debian's postgresql package (see .ci/run)`);
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const remove = () => rm(dir, { recursive: true, force: true });
  const asRoot = process.getuid?.() === 0;
  const as = (command: string, args: string[]) => (asRoot ? run('runuser', ['-u', 'nobody', '--', join(BIN, command), ...args]) : run(join(BIN, command), args));
  const data = join(dir, 'data');
  const pwfile = join(dir, 'pwfile');
  let started = false;
  const options = (port: number) =>
    `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir}${durable ? '' : ' -c fsync=off -c full_page_writes=off'}`;
  let port = 0;
  const start = async () => {
    await as('pg_ctl', ['start', '-D', data, '-w', '-t', '60', '-l', join(dir, 'log'), '-o', options(port)]);
    started = true;
  };
  try {
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    if (asRoot) {
      await chown(dir, NOBODY.uid, NOBODY.gid);
      await chown(pwfile, NOBODY.uid, NOBODY.gid);
    }
    await chmod(dir, 0o700);
    port = await freePort();
    await as('initdb', ['-D', data, '-U', USER, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--no-sync']);
    await start();
  } catch (err) {
    await remove();
    throw err;
  }
  const url = (database: string) => `postgres://${USER}:${password}@127.0.0.1:${port}/${database}?sslmode=disable`;
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
    pid: () => Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]),
    async stop() {
      await as('pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w', '-t', '60']);
      started = false;
    },
    start,
    async destroy() {
      if (started) await as('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']).catch(() => undefined);
      started = false;
      await remove();
    },
  };
}

export interface BenchPostgres {
  /** VIGIL_DATABASE_URL of an empty database on it. */
  readonly url: string;
  /** The postmaster's pid: its backends are its children. */
  readonly pid: number;
  stop(): Promise<void>;
}

/** The bench's: durable, one database; undefined when Debian's postgresql (15) is not installed. */
export async function startPostgres(database = 'vigil'): Promise<BenchPostgres | undefined> {
  if (!postgresInstalled()) return undefined;
  const cluster = await startPostgresCluster({ password: 'vigil-bench-password', durable: true, prefix: 'vigil-bench-pg-' });
  try {
    const url = await cluster.createDatabase(database);
    // A fast shutdown, as before: the bench's last checkpoint is not measured, and its files go either way.
    const stop = async () => {
      await cluster.stop().catch(() => undefined);
      await cluster.destroy();
    };
    return { url, pid: cluster.pid(), stop };
  } catch (err) {
    await cluster.destroy();
    throw err;
  }
}

/**
 * CPU seconds (user + system) of a PostgreSQL server, from /proc: the postmaster's, its live processes' (backends,
 * the WAL writer, the checkpointer) and those of the processes that ended, which the postmaster reaped.
 */
export function postgresCpuSeconds(postmaster: number): number {
  const fields = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const own = fields(postmaster);
  // utime, stime, cutime, cstime: fields 14-17.
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const pid of childrenOf(postmaster)) {
    try {
      const f = fields(pid);
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // Ended between the two reads: counted in the postmaster's cutime from now on.
    }
  }
  return ticks / 100;
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
