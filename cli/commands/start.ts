import type { Command } from 'commander';
import { createLogger } from '../../app/logger.js';
import type { Vigil, VigilHooks } from '../../app/vigil.js';
import type { VigilConfig } from '../../app/config.js';
import { INSTANCE_FILE, recordInstance, type RunningInstance } from '../instance-file.js';
import { examples } from '../args.js';
import { action, configFrom } from '../run.js';

export interface ServerOptions {
  dataDir?: string;
  host?: string;
  mqttPort?: string;
  httpPort?: string;
}

export function serverOverrides(opts: ServerOptions): Record<string, string | undefined> {
  return {
    VIGIL_DATA_DIR: opts.dataDir,
    VIGIL_BIND_HOST: opts.host,
    VIGIL_MQTT_PORT: opts.mqttPort,
    VIGIL_HTTP_PORT: opts.httpPort,
  };
}

export function addServerOptions(command: Command): Command {
  return command
    .option('--data-dir <dir>', 'data directory (VIGIL_DATA_DIR)')
    .option('--host <address>', 'address to listen on (VIGIL_BIND_HOST)')
    .option('--mqtt-port <port>', 'MQTT TCP port, 0 for any free port (VIGIL_MQTT_PORT)')
    .option('--http-port <port>', 'HTTP port for /healthz, /readyz, /metrics and MQTT over WebSocket (VIGIL_HTTP_PORT)');
}

/**
 * Starts Vigil and stops it cleanly on SIGTERM or SIGINT: intake stops, accepted readings are committed and
 * drained to the store for a few seconds, and whatever is left stays in the outbox for the next start.
 */
export async function runUntilSignal(
  mode: RunningInstance['mode'],
  config: Readonly<VigilConfig>,
  hooks: VigilHooks = {},
  onStarted?: (vigil: Vigil) => Promise<(() => Promise<void>) | void>,
): Promise<void> {
  const log = createLogger(config.logLevel);
  // Loaded when a server starts, not with the command line: every component, Fastify and aedes among them (the
  // commands that only read the data dir start about twice as fast without them).
  const { startVigil } = await import('../../app/vigil.js');
  const vigil = await startVigil(config, log, hooks);
  const record = recordInstance({ mode, dataDir: config.dataDir, mqttPort: vigil.mqttPort, httpPort: vigil.httpPort, topicPrefix: config.topicPrefix });
  if (record instanceof Error) log.warn({ err: record, file: INSTANCE_FILE }, 'cannot record this instance in the working directory: commands run here need --data-dir');
  const beforeClose = await onStarted?.(vigil);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting without waiting for the drain');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'stopping');
    (async () => {
      if (!(record instanceof Error)) record.forget();
      await beforeClose?.();
      await vigil.close();
    })().then(
      () => process.exit(0),
      (err: Error) => {
        log.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

export function registerStart(program: Command): void {
  addServerOptions(
    examples(
      program.command('start').description('run Vigil: MQTT gateway, ingest, reading store and HTTP endpoints, from the VIGIL_* settings'),
      'vigil start',
      'VIGIL_INFLUX_URL=http://influxdb:8086 vigil start --data-dir /var/lib/vigil --host 0.0.0.0',
    ),
  ).action(
    action(async (opts: ServerOptions) => {
      await runUntilSignal('start', configFrom(serverOverrides(opts)));
    }),
  );
}
