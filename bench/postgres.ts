/**
 * A throwaway PostgreSQL 15 for the bench's shared-alerts rows: Debian's postgresql binaries, a cluster in a temp
 * dir on a free loopback port, password authentication as production has it. Under root (PostgreSQL refuses to
 * run as root) the cluster belongs to `nobody`, as the tests' (test/support/postgres.ts). Unlike the tests', it
 * keeps PostgreSQL's durability defaults (fsync on, synchronous_commit on): every commit waits for the disk, as a
 * production server's does, and that wait is part of what a shared alert costs.
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
const PASSWORD = 'vigil-bench-password';

export interface BenchPostgres {
  /** VIGIL_DATABASE_URL of an empty database on it. */
  readonly url: string;
  /** The postmaster's pid: its backends are its children. */
  readonly pid: number;
  stop(): Promise<void>;
}

/** Starts one, or answers undefined when Debian's postgresql (15) is not installed. */
export async function startPostgres(database = 'vigil'): Promise<BenchPostgres | undefined> {
  if (!existsSync(join(BIN, 'initdb'))) return undefined;
  const dir = await mkdtemp(join(tmpdir(), 'vigil-bench-pg-'));
  const asRoot = process.getuid?.() === 0;
  const as = (command: string, args: string[]) => (asRoot ? run('runuser', ['-u', 'nobody', '--', join(BIN, command), ...args]) : run(join(BIN, command), args));
  const data = join(dir, 'data');
  const pwfile = join(dir, 'pwfile');
  await writeFile(pwfile, `${PASSWORD}\n`, { mode: 0o600 });
  if (asRoot) {
    await chown(dir, NOBODY.uid, NOBODY.gid);
    await chown(pwfile, NOBODY.uid, NOBODY.gid);
  }
  await chmod(dir, 0o700);
  const port = await freePort();
  const options = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir}`;
  let started = false;
  const stop = async () => {
    if (started) await as('pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w', '-t', '60']).catch(() => undefined);
    started = false;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await as('initdb', ['-D', data, '-U', USER, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--no-sync']);
    await as('pg_ctl', ['start', '-D', data, '-w', '-t', '60', '-l', join(dir, 'log'), '-o', options]);
    started = true;
    const url = (name: string) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${name}?sslmode=disable`;
    const admin = new pg.Client({ connectionString: url('postgres') });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${database}`);
    } finally {
      await admin.end();
    }
    const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return { url: url(database), pid, stop };
  } catch (err) {
    await stop();
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
