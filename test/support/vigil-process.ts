import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { waitFor } from './temp.js';

export const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

export interface VigilProcess {
  readonly child: ChildProcess;
  readonly mqttPort: number;
  readonly httpPort: number;
  /** Everything the process printed so far. */
  output(): string;
}

/**
 * `vigil start` as a user runs it, in its own process. Unless the caller fixes them, it picks its own free
 * ports (port 0) and the test reads them from its start-up log: ports chosen by the test itself could be
 * taken by another test file running in parallel before the server binds them.
 */
export async function startVigilProcess(env: Record<string, string>): Promise<VigilProcess> {
  const started = await spawnVigil(env, (output) => {
    const mqtt = /"mqttPort":(\d+)/.exec(output)?.[1];
    const http = /"httpPort":(\d+)/.exec(output)?.[1];
    return mqtt && http && /"msg":"Vigil started"/.test(output) ? { mqttPort: Number(mqtt), httpPort: Number(http) } : undefined;
  });
  return { child: started.child, output: started.output, ...started.ready };
}

/** `vigil start` in worker mode (VIGIL_BROKER_URL in `env`): no MQTT port of its own, ready once subscribed. */
export async function startVigilWorkerProcess(env: Record<string, string>): Promise<Omit<VigilProcess, 'mqttPort'>> {
  const started = await spawnVigil(env, (output) => {
    const http = /"httpPort":(\d+)/.exec(output)?.[1];
    return http && /"msg":"Vigil started"/.test(output) ? { httpPort: Number(http) } : undefined;
  });
  return { child: started.child, output: started.output, ...started.ready };
}

async function spawnVigil<T>(env: Record<string, string>, ready: (output: string) => T | undefined) {
  const child = spawn(process.execPath, [CLI, 'start'], {
    // Its working directory is its data dir: the instance record it writes there (.vigil-instance.json) stays
    // out of the checkout, where a developer's own `npm run demo` keeps its record.
    cwd: env.VIGIL_DATA_DIR,
    env: { ...process.env, VIGIL_BIND_HOST: '127.0.0.1', VIGIL_MQTT_PORT: '0', VIGIL_HTTP_PORT: '0', ...env, VIGIL_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const found = await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`vigil start exited with ${child.exitCode}: ${output.slice(-2000)}`);
      return ready(output);
    },
    { what: 'vigil start to report its ports', timeoutMs: 30_000 },
  );
  return { child, ready: found as T, output: () => output };
}
