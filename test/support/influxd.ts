import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { tempDir, waitFor } from './temp.js';

const INFLUXD = '/usr/bin/influxd';

export interface InfluxInstance {
  readonly url: string;
  readonly port: number;
  /** Stops the server (SIGTERM, or SIGKILL with `kill`); its data dir stays for a restart. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it and deletes its data. */
  destroy(): Promise<void>;
  query(q: string, db?: string): Promise<unknown[][]>;
}

/**
 * A real InfluxDB 1.x (Debian's influxd) on free loopback ports with its data in a temp dir, as field-notes.md
 * describes. Each test file starts its own.
 */
export async function startInfluxd(options: { auth?: { username: string; password: string } } = {}): Promise<InfluxInstance> {
  if (!existsSync(INFLUXD)) throw new Error(`${INFLUXD} not found: install Debian's influxdb package (see .ci/run)`);
  const dir = await tempDir('vigil-influx-');
  const port = await freePort();
  const rpcPort = await freePort();
  const config = join(dir.path, 'influxdb.conf');
  await writeFile(
    config,
    `reporting-disabled = true
bind-address = "127.0.0.1:${rpcPort}"
[meta]
  dir = "${dir.path}/meta"
[data]
  dir = "${dir.path}/data"
  wal-dir = "${dir.path}/wal"
  max-values-per-tag = 0
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:${port}"
  log-enabled = false
  auth-enabled = ${options.auth ? 'true' : 'false'}
[monitor]
  store-enabled = false
[subscriber]
  enabled = false
[continuous_queries]
  enabled = false
[logging]
  level = "error"
`,
  );
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    const proc = spawn(INFLUXD, ['-config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child = proc;
    await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`influxd exited: ${stderr}`);
        return (await fetch(`${url}/ping`)).status === 204;
      },
      { timeoutMs: 30_000, what: 'influxd to answer /ping' },
    );
  }

  async function stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill(signal);
    await exited;
  }

  await start();
  const authHeader: Record<string, string> = options.auth ? { authorization: `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}` } : {};
  if (options.auth) {
    // InfluxDB 1.x lets the first admin user be created without credentials, and nothing else.
    const q = `CREATE USER "${options.auth.username}" WITH PASSWORD '${options.auth.password}' WITH ALL PRIVILEGES`;
    await fetch(`${url}/query?q=${encodeURIComponent(q)}`, { method: 'POST' });
  }
  return {
    url,
    port,
    stop,
    start,
    async destroy() {
      await stop('SIGKILL');
      await dir.remove();
    },
    async query(q: string, db = 'vigil') {
      const response = await fetch(`${url}/query?db=${encodeURIComponent(db)}&epoch=ms&q=${encodeURIComponent(q)}`, { headers: authHeader });
      const body = (await response.json()) as { results: { series?: { values: unknown[][] }[] }[] };
      return body.results[0]?.series?.flatMap((s) => s.values) ?? [];
    },
  };
}
