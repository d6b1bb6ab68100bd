import type { Command } from 'commander';
import { AlertEngine, AlertStore, DEFAULT_RULE_SET, PROGRAMME_RULE_SETS, type Alert } from '../../alerts/index.js';
import { openState, patientDirectory } from '../../app/state.js';
import { VigilError } from '../../domain/index.js';
import { action, configFrom, isoOrDash, parseDuration, printTable } from '../run.js';

const DATA_DIR_HELP = 'data directory (default: $VIGIL_DATA_DIR or ./data)';

/** The engine on the state database, for actions taken from the command line; the running server picks them up. */
export async function withEngine<T>(dataDir: string | undefined, body: (engine: AlertEngine) => T | Promise<T>): Promise<T> {
  const config = configFrom({ VIGIL_DATA_DIR: dataDir });
  const { db, registry } = openState(config.dataDir);
  const noHistory = async (): Promise<never> => {
    throw new VigilError('VIGIL_ERR_CONFIG', 'reading history is not available to this command');
  };
  const engine = new AlertEngine({
    store: new AlertStore(db),
    history: { queryRaw: noHistory, queryAggregate: noHistory },
    directory: patientDirectory(registry),
    log: { warn: () => undefined, error: () => undefined },
    escalateAfterMs: config.alerts.escalateAfterMinutes * 60_000,
  });
  try {
    return await body(engine);
  } finally {
    db.close();
  }
}

function row(a: Alert) {
  return {
    id: a.id,
    severity: a.severity,
    status: a.status + (a.escalationLevel > 0 ? ` (escalated ${a.escalationLevel})` : ''),
    patient: a.patientId,
    rule: a.ruleId,
    count: a.count,
    updated: isoOrDash(a.updatedAt),
    message: a.message.slice(0, 90),
  };
}

function requireActor(by: string | undefined): string {
  if (!by || !/^[\w .@-]{1,64}$/.test(by)) throw new VigilError('VIGIL_ERR_CONFIG', '--by <name> is required: the audit log records who acted');
  return by;
}

/** `vigil alerts ...` and `vigil rules ...`: the alert lifecycle and per-patient rule settings. */
export function registerAlerts(program: Command): void {
  const alerts = program.command('alerts').description('list, acknowledge, resolve and snooze alerts');
  alerts
    .command('list')
    .description('alerts, most severe and most recent first')
    .option('--status <status>', 'open, acknowledged, resolved or live (open + acknowledged)', 'live')
    .option('--patient <id>', 'only this patient')
    .option('--json', 'print JSON')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (opts: { status: 'open' | 'acknowledged' | 'resolved' | 'live'; patient?: string; json?: boolean; dataDir?: string }) => {
        const list = await withEngine(opts.dataDir, (e) => e.list({ status: opts.status, patientId: opts.patient }));
        if (opts.json) process.stdout.write(`${JSON.stringify(list)}\n`);
        else printTable(list.map(row));
      }),
    );
  alerts
    .command('show <id>')
    .description('one alert with every transition')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (id: string, opts: { dataDir?: string }) => {
        const found = await withEngine(opts.dataDir, (e) => e.get(Number(id)));
        if (!found) throw new VigilError('VIGIL_ERR_NOT_FOUND', `alert ${id} does not exist`);
        process.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
      }),
    );
  for (const [name, verb] of [
    ['ack', 'acknowledge'],
    ['resolve', 'resolve'],
  ] as const) {
    alerts
      .command(`${name} <id>`)
      .description(`${verb} an alert (recorded in the audit log)`)
      .requiredOption('--by <name>', 'who acts')
      .option('--note <text>', 'a note kept with the alert')
      .option('--data-dir <dir>', DATA_DIR_HELP)
      .action(
        action(async (id: string, opts: { by: string; note?: string; dataDir?: string }) => {
          const actor = requireActor(opts.by);
          const alert = await withEngine(opts.dataDir, (e) => (verb === 'acknowledge' ? e.acknowledge(Number(id), actor, opts.note) : e.resolve(Number(id), actor, opts.note)));
          process.stdout.write(`alert ${alert.id} ${alert.status}\n`);
        }),
      );
  }
  alerts
    .command('snooze <patientId> <ruleId>')
    .description('silence one rule for one patient until a time')
    .requiredOption('--for <duration>', 'how long, e.g. 30m, 4h, 2d')
    .requiredOption('--by <name>', 'who acts')
    .option('--note <text>', 'why')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (patientId: string, ruleId: string, opts: { for: string; by: string; note?: string; dataDir?: string }) => {
        const until = Date.now() + parseDuration(opts.for);
        await withEngine(opts.dataDir, (e) => e.snooze(patientId, ruleId, until, requireActor(opts.by), opts.note));
        process.stdout.write(`${ruleId} snoozed for ${patientId} until ${new Date(until).toISOString()}\n`);
      }),
    );
  alerts
    .command('unsnooze <patientId> <ruleId>')
    .description('end a snooze')
    .requiredOption('--by <name>', 'who acts')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (patientId: string, ruleId: string, opts: { by: string; dataDir?: string }) => {
        await withEngine(opts.dataDir, (e) => e.unsnooze(patientId, ruleId, requireActor(opts.by)));
        process.stdout.write(`${ruleId} no longer snoozed for ${patientId}\n`);
      }),
    );

  const rules = program.command('rules').description('alert rules: defaults, programmes and per-patient overrides');
  rules
    .command('list')
    .description('the rules with their sources; with --patient, the rules as they apply to that patient')
    .option('--patient <id>', 'patient id')
    .option('--json', 'print JSON')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (opts: { patient?: string; json?: boolean; dataDir?: string }) => {
        const list = opts.patient
          ? await withEngine(opts.dataDir, (e) => {
              // Every patient has the default rules, so none at all means no such patient.
              const applying = e.rulesFor(opts.patient!);
              if (applying.length === 0) throw new VigilError('VIGIL_ERR_NOT_FOUND', `patient ${opts.patient} does not exist`);
              return applying;
            })
          : [...DEFAULT_RULE_SET, ...Object.values(PROGRAMME_RULE_SETS).flat()];
        if (opts.json) return void process.stdout.write(`${JSON.stringify(list)}\n`);
        printTable(list.map((r) => ({ id: r.id, kind: r.kind, title: r.title, source: r.source.slice(0, 70) })));
      }),
    );
  rules
    .command('set <patientId> <ruleId> <json>')
    .description('override values of a rule for one patient, e.g. \'{"tiers":[{"severity":"warning","conditions":[{"field":"value","op":"<","value":88}]}]}\'')
    .requiredOption('--by <name>', 'who acts')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (patientId: string, ruleId: string, json: string, opts: { by: string; dataDir?: string }) => {
        let override: Record<string, unknown>;
        try {
          override = JSON.parse(json) as Record<string, unknown>;
        } catch {
          throw new VigilError('VIGIL_ERR_CONFIG', 'the override must be a JSON object');
        }
        const rule = await withEngine(opts.dataDir, (e) => e.setOverride(patientId, ruleId, override, requireActor(opts.by)));
        process.stdout.write(`${JSON.stringify(rule, null, 2)}\n`);
      }),
    );
  rules
    .command('reset <patientId> <ruleId>')
    .description("remove a patient's override of a rule")
    .requiredOption('--by <name>', 'who acts')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (patientId: string, ruleId: string, opts: { by: string; dataDir?: string }) => {
        await withEngine(opts.dataDir, (e) => e.clearOverride(patientId, ruleId, requireActor(opts.by)));
        process.stdout.write(`${ruleId} for ${patientId} back to the programme defaults\n`);
      }),
    );
}
