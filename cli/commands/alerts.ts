import type { Command } from 'commander';
import { DEFAULT_RULE_SET, openAlertsCore, PROGRAMME_RULE_SETS, RULE_PRESETS, type Alert } from '../../alerts/index.js';
import { openState, patientDirectory } from '../../app/state.js';
import { VigilError } from '../../domain/index.js';
import { AuditLog } from '../../state/index.js';
import { action, configFrom, isoOrDash, parseDuration, printTable, requireActor } from '../run.js';

const DATA_DIR_HELP = 'data directory (default: $VIGIL_DATA_DIR or ./data)';

type AlertsCore = ReturnType<typeof openAlertsCore>;

/** Alerts on the state database, for actions taken from the command line; the running server picks them up. */
export async function withAlerts<T>(dataDir: string | undefined, body: (alerts: Pick<AlertsCore, 'actions' | 'queries' | 'parking'> & { audit: AuditLog }) => T | Promise<T>): Promise<T> {
  const config = configFrom({ VIGIL_DATA_DIR: dataDir });
  const { db, registry } = openState(config.dataDir);
  const noHistory = async (): Promise<never> => {
    throw new VigilError('VIGIL_ERR_CONFIG', 'reading history is not available to this command');
  };
  const audit = new AuditLog(db);
  const core = openAlertsCore({
    db,
    audit,
    history: { queryRaw: noHistory, queryAggregate: noHistory },
    directory: patientDirectory(registry, () => new Map()),
    log: { warn: () => undefined, info: () => undefined, error: () => undefined },
    ...config.alerts,
  });
  try {
    return await body({ ...core, audit });
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

/** `--expires 2026-12-24T00:00:00Z` or `--for 14d`: when an override stops applying. */
function expiryOf(opts: { expires?: string; for?: string }): number | undefined {
  if (opts.expires && opts.for) throw new VigilError('VIGIL_ERR_CONFIG', 'give --expires or --for, not both');
  if (opts.for) return Date.now() + parseDuration(opts.for);
  if (!opts.expires) return undefined;
  const at = Date.parse(opts.expires);
  if (!Number.isFinite(at)) throw new VigilError('VIGIL_ERR_CONFIG', `--expires: "${opts.expires}" is not an RFC 3339 time`);
  return at;
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
        const list = await withAlerts(opts.dataDir, (a) => a.queries.list({ status: opts.status, patientId: opts.patient }));
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
        const found = await withAlerts(opts.dataDir, (a) => a.queries.get(Number(id)));
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
          const alert = await withAlerts(opts.dataDir, (a) => (verb === 'acknowledge' ? a.actions.acknowledge(Number(id), actor, opts.note) : a.actions.resolve(Number(id), actor, opts.note)));
          process.stdout.write(`alert ${alert.id} ${alert.status}\n`);
        }),
      );
  }
  alerts
    .command('snooze <patientId> <ruleId>')
    .description('silence one rule for one patient for a while (at most VIGIL_ALERT_SNOOZE_MAX_HOURS), with a reason; worse findings and any critical one break through')
    .requiredOption('--for <duration>', 'how long, e.g. 30m, 4h')
    .requiredOption('--by <name>', 'who acts')
    .requiredOption('--reason <text>', 'why (shown on the patient page and kept in the audit log)')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (patientId: string, ruleId: string, opts: { for: string; by: string; reason: string; dataDir?: string }) => {
        const until = Date.now() + parseDuration(opts.for);
        const snooze = await withAlerts(opts.dataDir, (a) => a.actions.snooze(patientId, ruleId, until, requireActor(opts.by), opts.reason));
        process.stdout.write(`${ruleId} snoozed for ${patientId} until ${new Date(until).toISOString()} (up to ${snooze.tier}; anything worse breaks through)\n`);
      }),
    );
  alerts
    .command('unsnooze <patientId> <ruleId>')
    .description('end a snooze')
    .requiredOption('--by <name>', 'who acts')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (patientId: string, ruleId: string, opts: { by: string; dataDir?: string }) => {
        await withAlerts(opts.dataDir, (a) => a.actions.unsnooze(patientId, ruleId, requireActor(opts.by)));
        process.stdout.write(`${ruleId} no longer snoozed for ${patientId}\n`);
      }),
    );

  alerts
    .command('parked')
    .description('webhook deliveries the receiver refused (4xx) after every retry, parked for replay')
    .option('--json', 'print JSON')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (opts: { json?: boolean; dataDir?: string }) => {
        const parked = await withAlerts(opts.dataDir, (a) => a.parking.list());
        if (opts.json) return void process.stdout.write(`${JSON.stringify(parked)}\n`);
        printTable(parked.map((p) => ({ seq: p.seq, status: p.status, attempts: p.attempts, parked: isoOrDash(p.parkedAt), replay: p.replayRequested ? 'requested' : '', error: p.error })));
      }),
    );
  alerts
    .command('replay [seq]')
    .description('ask the running server to send a parked webhook delivery again (or, with --all, every one)')
    .option('--all', 'every parked delivery')
    .requiredOption('--by <name>', 'who acts')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .addHelpText('after', '\nExample:\n  vigil alerts parked && vigil alerts replay --all --by "Ops on call"\n')
    .action(
      action(async (seq: string | undefined, opts: { all?: boolean; by: string; dataDir?: string }) => {
        if ((seq === undefined) === !opts.all) throw new VigilError('VIGIL_ERR_CONFIG', 'give a seq or --all');
        const by = requireActor(opts.by);
        const requested = await withAlerts(opts.dataDir, (a) => {
          const n = a.parking.requestReplay(seq === undefined ? undefined : Number(seq));
          a.audit.record(by, 'webhook.replay', null, seq === undefined ? 'all' : `seq:${seq}`, { requested: n });
          return n;
        });
        process.stdout.write(`${requested} parked deliveries will be sent again\n`);
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
          ? await withAlerts(opts.dataDir, (a) => {
              // Every patient has the default rules, so none at all means no such patient.
              const applying = a.queries.rulesFor(opts.patient!);
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
    .description(
      'override values of a rule for one patient, within its safety floor, e.g. \'{"tiers":[{"severity":"warning","conditions":[{"field":"value","op":"<","value":90}]}]}\'',
    )
    .requiredOption('--by <name>', 'who acts')
    .requiredOption('--reason <text>', 'why (shown on the patient page and kept in the audit log)')
    .option('--for <duration>', 'the override stops applying after this long, e.g. 14d')
    .option('--expires <time>', 'the override stops applying at this RFC 3339 time')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (patientId: string, ruleId: string, json: string, opts: { by: string; reason: string; for?: string; expires?: string; dataDir?: string }) => {
        let override: Record<string, unknown>;
        try {
          override = JSON.parse(json) as Record<string, unknown>;
        } catch {
          throw new VigilError('VIGIL_ERR_CONFIG', 'the override must be a JSON object');
        }
        const options = { reason: opts.reason, expiresAt: expiryOf(opts) };
        const rule = await withAlerts(opts.dataDir, (a) => a.actions.setOverride(patientId, ruleId, override, requireActor(opts.by), options));
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
        await withAlerts(opts.dataDir, (a) => a.actions.clearOverride(patientId, ruleId, requireActor(opts.by)));
        process.stdout.write(`${ruleId} for ${patientId} back to the programme defaults\n`);
      }),
    );
  rules
    .command('preset <patientId> <presetId>')
    .description(`apply a named, sourced override in one step (${RULE_PRESETS.map((p) => `${p.id}: ${p.title}`).join('; ')})`)
    .requiredOption('--by <name>', 'who acts')
    .option('--reason <text>', "why (default: the preset's title and source)")
    .option('--for <duration>', 'the override stops applying after this long')
    .option('--expires <time>', 'the override stops applying at this RFC 3339 time')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (patientId: string, presetId: string, opts: { by: string; reason?: string; for?: string; expires?: string; dataDir?: string }) => {
        const options = { reason: opts.reason, expiresAt: expiryOf(opts) };
        const rule = await withAlerts(opts.dataDir, (a) => a.actions.applyPreset(patientId, presetId, requireActor(opts.by), options));
        process.stdout.write(`${presetId} applied to ${rule.id} for ${patientId}\n`);
      }),
    );
}
