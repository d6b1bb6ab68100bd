import type { Command } from 'commander';
import { resolve } from 'node:path';
import { openState } from '../../app/state.js';
import { VigilError } from '../../domain/index.js';
import { InfluxStore, SqliteStore, type ReadingStore } from '../../ingest/index.js';
import { erasePatient, exportPatient } from '../../lifecycle/index.js';
import { AuditLog } from '../../state/index.js';
import { action, configFrom } from '../run.js';

const DATA_DIR_HELP = 'data directory (default: $VIGIL_DATA_DIR or ./data)';

/** The state database, the reading store this configuration uses, the audit log, and the operator acting. */
async function withData<T>(dataDir: string | undefined, body: (d: { db: ReturnType<typeof openState>['db']; store: ReadingStore; audit: AuditLog; dataDir: string }) => Promise<T>): Promise<T> {
  const config = configFrom({ VIGIL_DATA_DIR: dataDir });
  const { db } = openState(config.dataDir, { defaultTimeZone: config.defaultTimeZone });
  const store = config.influx ? await InfluxStore.open(config.influx) : new SqliteStore(config.dataDir);
  try {
    return await body({ db, store, audit: new AuditLog(db), dataDir: config.dataDir });
  } finally {
    await store.close();
    db.close();
  }
}

const operator = () => ({ name: `cli:${process.env.USER ?? 'unknown'}`, origin: 'cli' });

/** `vigil patients export` and `vigil patients erase`: a patient's right of access and right to erasure. */
export function registerPatientData(program: Command, version: string): void {
  const patients = program.commands.find((c) => c.name() === 'patients') ?? program.command('patients');
  patients
    .command('export')
    .description("write everything Vigil holds about a patient (registry entry, devices, readings, alerts with events and notes, rule changes, rejections, audit entries) as CSV files with a JSON manifest (audited)")
    .argument('<id>', 'patient id')
    .requiredOption('--out <dir>', 'a new or empty directory')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .addHelpText('after', '\nExample:\n  vigil patients export pat-7f3a --out ./export-pat-7f3a\n')
    .action(
      action(async (id: string, opts: { out: string; dataDir?: string }) => {
        const manifest = await withData(opts.dataDir, ({ db, store, audit }) =>
          exportPatient({ db, audit, readings: store, patientId: id, out: resolve(opts.out), by: operator(), vigilVersion: version }),
        );
        const rows = manifest.files.reduce((n, f) => n + f.rows, 0);
        process.stdout.write(`exported ${rows} rows in ${manifest.files.length} files to ${resolve(opts.out)} (manifest.json lists them with their SHA-256)\n`);
      }),
    );
  patients
    .command('erase')
    .description('erase a patient: registry entry, alerts, rule changes, rejections, dead letters and every stored reading; devices are unassigned; the audit log keeps a pseudonymous record (audited)')
    .argument('<id>', 'patient id')
    .option('--yes', 'confirm: the erasure cannot be undone (export first if the data must be kept)')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .addHelpText('after', '\nExample:\n  vigil patients export pat-7f3a --out ./export-pat-7f3a && vigil patients erase pat-7f3a --yes\n')
    .action(
      action(async (id: string, opts: { yes?: boolean; dataDir?: string }) => {
        if (!opts.yes) throw new VigilError('VIGIL_ERR_CONFIG', '--yes is required: erasing a patient cannot be undone');
        const result = await withData(opts.dataDir, ({ db, store, audit, dataDir }) => erasePatient({ db, audit, readings: store, dataDir, patientId: id, by: operator() }));
        const rows = Object.values(result.removed).reduce((n, c) => n + c, 0);
        process.stdout.write(`erased: ${rows} rows in the state database, ${result.readings ?? 'all'} readings; the audit log records it as erased:${result.pseudonym}\n`);
      }),
    );
}
