import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { STATE_DB_FILE } from '../state/index.js';
import { CommandFailed } from './failure.js';

/** The demo's own data dir, apart from the server's ./data. */
export const DEMO_DATA_DIR = './demo-data';

/** Marks a data dir as the demo's: demo patients, and accounts whose passwords were printed on a terminal. */
const DEMO_MARK = '.vigil-demo';

/**
 * The demo adds its cohort and two accounts to its data dir. It may do so only in a data dir of its own: a new
 * one, one it marked before, or ./demo-data. A data dir of a real installation (given by mistake with
 * --data-dir or a VIGIL_DATA_DIR left in the shell) is refused before anything is written to it.
 */
export function claimForDemo(dataDir: string): void {
  const isDefault = resolve(dataDir) === resolve(DEMO_DATA_DIR);
  if (!isDefault && existsSync(join(dataDir, STATE_DB_FILE)) && !existsSync(join(dataDir, DEMO_MARK))) {
    throw new CommandFailed(
      `${dataDir} holds a Vigil that is not a demo: the demo would add its patients and accounts to it. ` +
        `The demo runs in a data dir of its own (default ${DEMO_DATA_DIR}; --data-dir chooses a new one)`,
    );
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dataDir, DEMO_MARK), 'This data dir belongs to "vigil demo": simulated patients, and accounts whose passwords it printed.\n');
}
