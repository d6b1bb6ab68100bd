import type { Command } from 'commander';
import { resolve } from 'node:path';
import { openState, STATE_MIGRATIONS } from '../../app/state.js';
import { restoreBackup, takeBackup } from '../../lifecycle/index.js';
import { AuditLog } from '../../state/index.js';
import { action } from '../run.js';
import { cliActor } from '../cli-actor.js';
import { shipAuditAndClose } from '../ship-audit.js';
import { DATA_DIR_HELP, stateConfig } from '../state-config.js';

/** `vigil backup <dir>` and `vigil restore <dir>`: see docs/operations.md, "Backups and retention". */
export function registerBackup(program: Command, version: string): void {
  program
    .command('backup')
    .description('copy the state database, the embedded reading store and the outbox of a running (or stopped) Vigil into a new directory, with a manifest of checksums')
    .argument('<dir>', 'a new or empty directory')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .addHelpText('after', '\nEvery reading acknowledged before the backup started is in it (stored, or in the outbox copy).\n\nExample:\n  vigil backup /var/backups/vigil/$(date +%F) --data-dir /var/lib/vigil\n')
    .action(
      action(async (dir: string, opts: { dataDir?: string }) => {
        const config = stateConfig(opts.dataDir);
        const manifest = await takeBackup({ dataDir: config.dataDir, target: resolve(dir), readingStore: config.influx ? 'influxdb' : 'sqlite', vigilVersion: version });
        const { db } = openState(config.dataDir);
        try {
          new AuditLog(db).record(cliActor(), 'backup.create', null, resolve(dir), { files: manifest.files.length, bytes: manifest.files.reduce((n, f) => n + f.bytes, 0) });
        } finally {
          await shipAuditAndClose(db, config.databaseUrl);
        }
        const bytes = manifest.files.reduce((n, f) => n + f.bytes, 0);
        process.stdout.write(`backup written to ${resolve(dir)}: ${manifest.files.length} files, ${bytes} bytes, started ${new Date(manifest.startedAt).toISOString()}\n`);
        if (manifest.readingStore === 'influxdb') process.stdout.write('readings are in InfluxDB: back them up now with `influxd backup -portable` (see docs/operations.md)\n');
      }),
    );
  program
    .command('restore')
    .description('restore a backup into a data directory (refused while Vigil runs on it); checks every checksum and migrates the schema forward')
    .argument('<dir>', 'a directory written by vigil backup')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--replace', 'move the data already in the data directory aside (into replaced-<time>/) instead of refusing')
    .addHelpText('after', '\nExample:\n  vigil restore /var/backups/vigil/2026-11-28 --data-dir /var/lib/vigil\n')
    .action(
      action(async (dir: string, opts: { dataDir?: string; replace?: boolean }) => {
        // The data dir is found as for every command: beside a running Vigil, its own, which restoreBackup then
        // refuses while that Vigil serves it. It may not exist yet (a restore onto a new machine).
        const config = stateConfig(opts.dataDir, { mayBeNew: true });
        const { manifest, movedAside, erasedSinceBackup } = await restoreBackup({
          source: resolve(dir),
          dataDir: config.dataDir,
          migrations: STATE_MIGRATIONS,
          replace: opts.replace,
          // Under the restore lock: another restore would otherwise be free to move this database aside while
          // it is migrated and audited.
          whenRestored: async (restored) => {
            // Opening the state database applies the migrations this version has and the backup had not.
            const { db } = openState(config.dataDir, { defaultTimeZone: config.defaultTimeZone });
            try {
              new AuditLog(db).record(cliActor(), 'backup.restore', null, resolve(dir), { backupStartedAt: new Date(restored.manifest.startedAt).toISOString(), backupVersion: restored.manifest.vigilVersion, movedAside: restored.movedAside ?? null, erasedSinceBackup: restored.erasedSinceBackup.length });
            } finally {
              await shipAuditAndClose(db, config.databaseUrl);
            }
          },
        });
        process.stdout.write(`restored the backup of ${new Date(manifest.startedAt).toISOString()} (Vigil ${manifest.vigilVersion}) into ${config.dataDir}\n`);
        if (movedAside) process.stdout.write(`the data that was there is in ${movedAside}\n`);
        process.stdout.write('start Vigil: it ships the restored outbox; readings acknowledged after the backup started come back only if devices send them again\n');
        if (erasedSinceBackup.length > 0) {
          // The backup predates their erasure: without this, the restore silently undoes it.
          process.stdout.write(`${erasedSinceBackup.length} patients erased since the backup (or whose erasure was started and cut short) are back; once Vigil has started, erase them again:\n`);
          for (const id of erasedSinceBackup) process.stdout.write(`  vigil patients erase ${id} --yes\n`);
        }
      }),
    );
}
