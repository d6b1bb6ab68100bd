import type { Command } from 'commander';
import { resolve } from 'node:path';
import { openState, shareStateRegistry } from '../../app/state.js';
import { VigilError } from '../../domain/index.js';
import { InfluxStore, SqliteStore, type ReadingStore } from '../../ingest/index.js';
import { erasePatient, erasureStarted, exportPatient } from '../../lifecycle/index.js';
import type { Registry } from '../../registry/index.js';
import { AuditLog, type AuditTrail, type SharedAudit } from '../../state/index.js';
import { ARG, oneOf } from '../args.js';
import { action } from '../run.js';
import { exportFhirFile } from './fhir-export.js';
import { cliActor } from '../cli-actor.js';
import { CommandFailed } from '../failure.js';
import { closeCliAudit, openCliAudit } from '../ship-audit.js';
import { DATA_DIR_HELP, stateConfig } from '../state-config.js';

/** The state database, the reading store this configuration uses, the audit log, and the operator acting. */
async function withData<T>(dataDir: string | undefined, body: (d: { db: ReturnType<typeof openState>['db']; registry: Registry; store: ReadingStore; audit: AuditLog; auditTrail: AuditTrail | undefined; dataDir: string }) => Promise<T>): Promise<T> {
  const config = stateConfig(dataDir);
  const { db, registry } = openState(config.dataDir, { defaultTimeZone: config.defaultTimeZone });
  let sharedAudit: SharedAudit | undefined;
  try {
    // With VIGIL_DATABASE_URL, the export's audit.csv holds every instance's entries about the patient.
    sharedAudit = await openCliAudit(db, config.databaseUrl);
    const shared = await shareStateRegistry({ db, registry }, config.databaseUrl, (err) => process.stderr.write(`shared registry: ${err.message}\n`));
    try {
      const store = config.influx ? await InfluxStore.open(config.influx) : new SqliteStore(config.dataDir);
      try {
        return await body({ db, registry, store, audit: new AuditLog(db), auditTrail: sharedAudit?.trail, dataDir: config.dataDir });
      } finally {
        await store.close();
      }
    } finally {
      await shared?.close();
    }
  } finally {
    await closeCliAudit(db, sharedAudit);
  }
}

/** `vigil patients export` and `vigil patients erase`: a patient's right of access and right to erasure. */
export function registerPatientData(program: Command, version: string): void {
  const patients = program.commands.find((c) => c.name() === 'patients') ?? program.command('patients');
  patients
    .command('export')
    .description(
      "write everything Vigil holds about a patient (registry entry, devices, readings, alerts with events and notes, rule changes, rejections, audit entries) as CSV files with a JSON manifest; or, with --format fhir, the patient's readings and alerts for a period as one FHIR R4 Bundle (audited)",
    )
    .argument('<id>', 'patient id')
    .requiredOption('--out <path>', 'csv: a new or empty directory; fhir: a new file')
    .option('--format <format>', 'csv (everything, default) or fhir (readings, devices and alerts as a FHIR R4 collection Bundle)', oneOf(['csv', 'fhir'] as const), 'csv')
    .option('--from <time>', 'fhir: start of the period (default: the first reading)', ARG.time)
    .option('--to <time>', 'fhir: end of the period, exclusive (default: now)', ARG.time)
    .option('--fhir-base <url>', "fhir: the base URL in the entries' fullUrl (default: this server's http://host:port/fhir)", ARG.url)
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .addHelpText(
      'after',
      '\nExamples:\n  vigil patients export pat-7f3a --out ./export-pat-7f3a\n  vigil patients export pat-7f3a --format fhir --from 2026-11-01T00:00:00Z --to 2026-12-01T00:00:00Z --out pat-7f3a-november.json\n',
    )
    .action(
      action(async (id: string, opts: { out: string; format: 'csv' | 'fhir'; from?: string; to?: string; fhirBase?: string; dataDir?: string }) => {
        if (opts.format === 'fhir') {
          const { entries } = await exportFhirFile(id, { ...opts, out: resolve(opts.out) });
          process.stdout.write(`exported a FHIR R4 Bundle of ${entries} resources to ${resolve(opts.out)}\n`);
          return;
        }
        if (opts.from !== undefined || opts.to !== undefined || opts.fhirBase !== undefined) throw new VigilError('VIGIL_ERR_CONFIG', '--from, --to and --fhir-base go with --format fhir (the CSV export holds everything)');
        const manifest = await withData(opts.dataDir, ({ db, store, audit, auditTrail, dataDir }) =>
          exportPatient({ db, audit, auditTrail, readings: store, dataDir, patientId: id, out: resolve(opts.out), by: cliActor(), vigilVersion: version }),
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
    .option('--force', 'erase even though the patient is not in the registry and no erasure of it was audited here (an erasure stopped midway by Ctrl-C or a crash was audited as started before it deleted anything: run it again, no --force needed)')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .addHelpText('after', '\nExample:\n  vigil patients export pat-7f3a --out ./export-pat-7f3a && vigil patients erase pat-7f3a --yes\n')
    .action(
      action(async (id: string, opts: { yes?: boolean; force?: boolean; dataDir?: string }) => {
        if (!opts.yes) throw new VigilError('VIGIL_ERR_CONFIG', '--yes is required: erasing a patient cannot be undone');
        const result = await withData(opts.dataDir, ({ db, registry, store, audit, dataDir }) => {
          // A typo must not report an erasure (nor audit one). A patient whose erasure did not finish (the
          // reading store was down, the command was killed) is no longer in the registry, but its erasure must be
          // run again: audited as started before anything was deleted, it is found.
          if (!opts.force && !registry.getPatient(id) && !erasureStarted(db, id)) {
            throw new CommandFailed(`patient ${id} does not exist, nor was it erased here before (to finish an erasure that was stopped before its end, add --force)`);
          }
          return erasePatient({ db, audit, readings: store, dataDir, patientId: id, by: cliActor(), shared: registry });
        });
        const rows = Object.values(result.removed).reduce((n, c) => n + c, 0);
        process.stdout.write(`erased: ${rows} rows in the state database, ${result.readings ?? 'all'} readings, ${result.outboxRecords} records overwritten or removed in the outbox (shipped, or damaged and set aside); the audit log records it as erased:${result.pseudonym}\n`);
        if (result.earlierExports.length > 0) {
          // Copies outside Vigil: the operator must know of them to complete the erasure.
          process.stdout.write(`the patient's data was exported ${result.earlierExports.length} times before; those copies are not erased (delete them, or ask whoever holds them to):\n`);
          for (const e of result.earlierExports) process.stdout.write(`  ${new Date(e.at).toISOString()}  ${e.actor}  ${e.target ?? ''}\n`);
        }
        if (result.replacedData.length > 0) {
          process.stdout.write(`data moved aside by earlier restores still holds the patient (not erased; delete it once no longer needed):\n`);
          for (const path of result.replacedData) process.stdout.write(`  ${path}\n`);
        }
      }),
    );
}
