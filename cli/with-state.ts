import { openState, shareStateRegistry } from '../app/state.js';
import type { VigilConfig } from '../app/config.js';
import { AuditLog } from '../state/index.js';
import { cliActor } from './cli-actor.js';
import { shipAuditAndClose } from './ship-audit.js';
import { stateConfig } from './state-config.js';

export interface DataDirOption {
  dataDir?: string;
}

export type Audit = (action: string, patientId: string | null, target: string | null, details?: unknown) => void;

/**
 * The state database, the audit log that records each change made from the command line and by whom, and the
 * settings (a change may have to reach the external broker too). With VIGIL_DATABASE_URL the registry is the
 * shared one, its mirror here brought in step first.
 */
export async function withState<T>(opts: DataDirOption, body: (state: ReturnType<typeof openState>, audit: Audit, config: Readonly<VigilConfig>) => Promise<T> | T): Promise<T> {
  const config = stateConfig(opts.dataDir);
  const state = openState(config.dataDir, { defaultTimeZone: config.defaultTimeZone });
  try {
    const shared = await shareStateRegistry(state, config.databaseUrl, (err) => process.stderr.write(`shared registry: ${err.message}\n`));
    try {
      const log = new AuditLog(state.db);
      const by = cliActor();
      const audit: Audit = (action, patientId, target, details) => log.record(by, action, patientId, target, details);
      return await body(state, audit, config);
    } finally {
      await shared?.close();
    }
  } finally {
    await shipAuditAndClose(state.db, config.databaseUrl);
  }
}
