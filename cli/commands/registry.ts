import type { Command } from 'commander';
import { RegistryReplica } from '../../registry/index.js';
import { detachSharedAlerts } from '../../alerts/index.js';
import { examples } from '../args.js';
import { action } from '../run.js';
import { DATA_DIR_HELP, stateConfig } from '../state-config.js';
import { CommandFailed } from '../failure.js';
import { VigilError } from '../../domain/index.js';
import { liveInstancePid } from '../../lifecycle/index.js';
import { withState, type DataDirOption } from '../with-state.js';

/** `vigil registry detach`: a data dir that mirrored a shared registry (VIGIL_DATABASE_URL) runs on its own again. */
export function registerRegistry(program: Command): void {
  const registry = examples(program.command('registry').description('the registry of patients and devices, when shared in PostgreSQL'), 'vigil registry detach --data-dir ./data');
  examples(registry.command('detach'), 'vigil registry detach --data-dir ./data')
    .description(
      "stop mirroring the shared registry (PostgreSQL): this data dir's patients and devices, as they are now, become its own again, and it no longer sees changes made on other instances. Run it without VIGIL_DATABASE_URL, with the server stopped; audited",
    )
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (opts: DataDirOption) => {
        const config = stateConfig(opts.dataDir);
        if (config.databaseUrl) throw new VigilError('VIGIL_ERR_CONFIG', 'VIGIL_DATABASE_URL is set: unset it (and VIGIL_DATABASE_URL_FILE) to detach, or the next start mirrors the shared registry again');
        const pid = liveInstancePid(config.dataDir);
        if (pid !== undefined) throw new CommandFailed(`a Vigil (pid ${pid}) serves ${config.dataDir}: stop it first`);
        const detached = await withState(opts, ({ db }, audit) => {
          // Shared alerts are mirrored beside the registry: this data dir's copy of them becomes its own too.
          const was = [RegistryReplica.detach(db), detachSharedAlerts(db)].some(Boolean);
          if (was) audit('registry.detach', null, null);
          return was;
        });
        process.stdout.write(detached ? 'the registry of this data dir is its own again: it no longer mirrors the shared registry\n' : 'this data dir did not mirror a shared registry: nothing to do\n');
      }),
    );
}
