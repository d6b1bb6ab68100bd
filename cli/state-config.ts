import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import type { VigilConfig } from '../app/config.js';
import { CommandFailed } from './failure.js';
import { runningInstance } from './instance-file.js';
import { configFrom } from './run.js';

/** The --data-dir option of every command that works on a Vigil's data. */
export const DATA_DIR_HELP = 'data directory (default: $VIGIL_DATA_DIR, else that of the Vigil running from this directory, else ./data)';

/**
 * The settings of a command that works on a Vigil's data (provisioning, alerts, readings, simulate). The data
 * dir is, in order: --data-dir, $VIGIL_DATA_DIR, the Vigil running from this directory (its .vigil-instance.json:
 * `npm run demo` keeps its data in ./demo-data, `npm start` in ./data), else ./data. When no flag or variable
 * chose it, stderr says which one is used, so that nobody provisions a device into a Vigil they did not mean.
 * The MQTT and HTTP ports and the topic prefix follow the running instance the same way (for `vigil simulate`).
 * A data dir that does not exist is refused: a typo must not create an empty Vigil that refuses every device.
 * Only `vigil restore` passes `mayBeNew`: restoring onto a new machine writes into a data dir not made yet.
 */
export function stateConfig(dataDirOption: string | undefined, { mayBeNew = false } = {}): Readonly<VigilConfig> {
  const explicit = dataDirOption ?? process.env.VIGIL_DATA_DIR;
  const instance = explicit === undefined ? runningInstance() : undefined;
  const env = process.env;
  const config = configFrom({
    VIGIL_DATA_DIR: explicit ?? instance?.dataDir,
    VIGIL_MQTT_PORT: env.VIGIL_MQTT_PORT === undefined ? instance?.mqttPort : undefined,
    VIGIL_HTTP_PORT: env.VIGIL_HTTP_PORT === undefined ? instance?.httpPort : undefined,
    VIGIL_TOPIC_PREFIX: env.VIGIL_TOPIC_PREFIX === undefined ? instance?.topicPrefix : undefined,
  });
  const shown = relative(process.cwd(), config.dataDir).startsWith('..') ? config.dataDir : `./${relative(process.cwd(), config.dataDir)}`;
  if (instance) process.stderr.write(`vigil: using data dir ${shown} of the Vigil ${instance.mode === 'demo' ? 'demo' : 'server'} running here (pid ${instance.pid}); --data-dir chooses another\n`);
  else if (explicit === undefined) process.stderr.write(`vigil: using data dir ${shown} (the default: no Vigil is running from this directory); --data-dir chooses another\n`);
  if (!mayBeNew && !existsSync(config.dataDir)) {
    throw new CommandFailed(
      `no data dir at ${config.dataDir}: start Vigil once ("npm start" or "vigil start") to create it, or give the --data-dir (or VIGIL_DATA_DIR) of the Vigil to act on`,
    );
  }
  return config;
}
