import type { Command } from 'commander';
import { z } from 'zod';
import { DEFAULT_RULE_SET, findRule, mirrorsSharedAlerts, openAlertsCore, PROGRAMME_RULE_SETS, RULE_PRESETS, type Alert, type PatientDirectory } from '../../alerts/index.js';
import { openState, patientDirectory, shareStateAlerts } from '../../app/state.js';
import { VigilError, type Programme } from '../../domain/index.js';
import { AuditLog, type StateDb } from '../../state/index.js';
import type { Registry } from '../../registry/index.js';
import { UsageError } from '../failure.js';
import { alertText } from '../alert-view.js';
import { ARG, examples, oneOf, parsedBy } from '../args.js';
import { action, isoOrDash, parseDuration, printTable, requireActor } from '../run.js';
import { DATA_DIR_HELP, stateConfig } from '../state-config.js';
import { cliActor } from '../cli-actor.js';
import { shipAuditAndClose } from '../ship-audit.js';

type AlertsCore = ReturnType<typeof openAlertsCore>;

/**
 * Alerts on the state database, for actions taken from the command line; the running server picks them up. With
 * VIGIL_DATABASE_URL, the shared alerts: an action commits in PostgreSQL and every instance's replica applies it.
 */
export async function withAlerts<T>(dataDir: string | undefined, body: (alerts: Pick<AlertsCore, 'actions' | 'queries' | 'parking'> & { audit: AuditLog; directory: PatientDirectory; registry: Registry; db: StateDb }) => T | Promise<T>): Promise<T> {
  const config = stateConfig(dataDir);
  const { db, registry } = openState(config.dataDir);
  const noHistory = async (): Promise<never> => {
    throw new VigilError('VIGIL_ERR_CONFIG', 'reading history is not available to this command');
  };
  const audit = new AuditLog(db);
  const directory = patientDirectory(registry, () => new Map());
  if (!config.databaseUrl && mirrorsSharedAlerts(db)) {
    db.close();
    throw new VigilError('VIGIL_ERR_CONFIG', `VIGIL_DATABASE_URL: ${config.dataDir} mirrors shared alerts in PostgreSQL; set VIGIL_DATABASE_URL (or VIGIL_DATABASE_URL_FILE)`);
  }
  const log = { warn: () => undefined, info: () => undefined, error: () => undefined };
  let shared: Awaited<ReturnType<typeof shareStateAlerts>>;
  try {
    shared = await shareStateAlerts(db, config.databaseUrl, log);
  } catch (err) {
    db.close();
    throw err;
  }
  const core = openAlertsCore({
    db,
    audit,
    history: { queryRaw: noHistory, queryAggregate: noHistory },
    directory,
    log,
    ...config.alerts,
    shared,
  });
  try {
    return await body({ ...core, audit, directory, registry, db });
  } finally {
    await shared?.close();
    await shipAuditAndClose(db, config.databaseUrl);
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

/** Whether a rule is among those a patient with these programmes is evaluated against (the defaults, or a programme's). */
function appliesUnder(ruleId: string, programmes: readonly Programme[]): boolean {
  const sets = [DEFAULT_RULE_SET, ...programmes.map((p) => PROGRAMME_RULE_SETS[p])];
  return sets.some((rules) => rules.some((r) => r.id === ruleId));
}

/** A patient named on the command line must exist: an empty answer would read as "nothing to see". */
export function requirePatient(directory: { patient(id: string): unknown }, patientId: string | undefined): void {
  if (patientId !== undefined && !directory.patient(patientId)) throw new VigilError('VIGIL_ERR_NOT_FOUND', `patient ${patientId} does not exist (see vigil patients list)`);
}

const jsonObject = z.string().transform((text, ctx) => {
  try {
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  ctx.addIssue({ code: 'custom', message: 'not a JSON object' });
  return z.NEVER;
});

const BY_HELP = 'who acts (kept in the audit log)';

/** `--expires 2026-12-24T00:00:00Z` or `--for 14d`: when an override stops applying. */
function expiryOf(opts: { expires?: string; for?: string }): number | undefined {
  if (opts.expires && opts.for) throw new VigilError('VIGIL_ERR_CONFIG', 'give --expires or --for, not both');
  if (opts.for) return Date.now() + parseDuration(opts.for);
  return opts.expires === undefined ? undefined : Date.parse(opts.expires);
}

/** `vigil alerts ...` and `vigil rules ...`: the alert lifecycle and per-patient rule settings. */
export function registerAlerts(program: Command): void {
  const alerts = examples(program.command('alerts').description('list, show, acknowledge, resolve and snooze alerts; webhook deliveries parked for replay'), 'vigil alerts list', 'vigil alerts ack 12 --by "Dr Jones"');
  examples(alerts.command('list'), 'vigil alerts list', 'vigil alerts list --status resolved --patient p-1a2b3c4d5e6f --json')
    .description('alerts, most severe and most recent first')
    .option('--status <status>', 'open, acknowledged, resolved or live (open + acknowledged)', oneOf(['open', 'acknowledged', 'resolved', 'live'] as const), 'live' as const)
    .option('--patient <id>', 'only this patient', ARG.patientId)
    .option('--json', 'print JSON')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (opts: { status: 'open' | 'acknowledged' | 'resolved' | 'live'; patient?: string; json?: boolean; dataDir?: string }) => {
        const list = await withAlerts(opts.dataDir, (a) => {
          requirePatient(a.directory, opts.patient);
          const found = a.queries.list({ status: opts.status, patientId: opts.patient });
          a.audit.record(cliActor(), 'alerts.view', opts.patient ?? null, null, { status: opts.status, alerts: found.length });
          return found;
        });
        if (opts.json) process.stdout.write(`${JSON.stringify(list)}\n`);
        else printTable(list.map(row));
      }),
    );
  examples(alerts.command('show'), 'vigil alerts show 12', 'vigil alerts show 12 --json')
    .description('one alert with every transition')
    .argument('<id>', 'alert number', ARG.alertId)
    .option('--json', 'print JSON: {"alert": ..., "events": [...]}')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (id: number, opts: { json?: boolean; dataDir?: string }) => {
        const found = await withAlerts(opts.dataDir, (a) => {
          const one = a.queries.get(id);
          if (one) a.audit.record(cliActor(), 'alert.view', one.alert.patientId, `alert:${id}`);
          return one;
        });
        if (!found) throw new VigilError('VIGIL_ERR_NOT_FOUND', `alert ${id} does not exist (see vigil alerts list --status resolved for older ones)`);
        process.stdout.write(opts.json ? `${JSON.stringify(found)}\n` : alertText(found));
      }),
    );
  for (const [name, verb] of [
    ['ack', 'acknowledge'],
    ['resolve', 'resolve'],
  ] as const) {
    examples(alerts.command(name), `vigil alerts ${name} 12 --by "Dr Jones" --note "called the patient"`)
      .description(`${verb} an alert (recorded in the audit log)`)
      .argument('<id>', 'alert number (see vigil alerts list)', ARG.alertId)
      .requiredOption('--by <name>', BY_HELP, ARG.actor)
      .option('--note <text>', 'a note kept with the alert')
      .option('--data-dir <dir>', DATA_DIR_HELP)
      .action(
        action(async (id: number, opts: { by: string; note?: string; dataDir?: string }) => {
          const actor = requireActor(opts.by);
          const alert = await withAlerts(opts.dataDir, (a) => (verb === 'acknowledge' ? a.actions.acknowledge(id, actor, opts.note) : a.actions.resolve(id, actor, opts.note)));
          process.stdout.write(`alert ${alert.id} ${alert.status}\n`);
        }),
      );
  }
  examples(alerts.command('snooze'), 'vigil alerts snooze p-1a2b3c4d5e6f bp.home_average --for 4h --by "Dr Jones" --reason "medication changed today"')
    .description('silence one rule for one patient for a while (at most VIGIL_ALERT_SNOOZE_MAX_HOURS), with a reason; worse findings and any critical one break through')
    .argument('<patientId>', 'patient id', ARG.patientId)
    .argument('<ruleId>', 'rule id (see vigil rules list)')
    .requiredOption('--for <duration>', 'how long, e.g. 30m, 4h', ARG.duration)
    .requiredOption('--by <name>', BY_HELP, ARG.actor)
    .requiredOption('--reason <text>', 'why (shown on the patient page and kept in the audit log)')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (patientId: string, ruleId: string, opts: { for: string; by: string; reason: string; dataDir?: string }) => {
        const until = Date.now() + parseDuration(opts.for);
        const snooze = await withAlerts(opts.dataDir, (a) => a.actions.snooze(patientId, ruleId, until, requireActor(opts.by), opts.reason));
        process.stdout.write(`${ruleId} snoozed for ${patientId} until ${new Date(until).toISOString()} (up to ${snooze.tier}; anything worse breaks through)\n`);
      }),
    );
  examples(alerts.command('unsnooze'), 'vigil alerts unsnooze p-1a2b3c4d5e6f bp.home_average --by "Dr Jones"')
    .description('end a snooze')
    .argument('<patientId>', 'patient id', ARG.patientId)
    .argument('<ruleId>', 'rule id')
    .requiredOption('--by <name>', BY_HELP, ARG.actor)
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (patientId: string, ruleId: string, opts: { by: string; dataDir?: string }) => {
        await withAlerts(opts.dataDir, (a) => {
          // As snooze does: a typo in the rule id must not read as "no longer snoozed".
          requirePatient(a.directory, patientId);
          if (!findRule(ruleId)) throw new VigilError('VIGIL_ERR_NOT_FOUND', `rule ${ruleId} does not exist (see vigil rules list)`);
          return a.actions.unsnooze(patientId, ruleId, requireActor(opts.by));
        });
        process.stdout.write(`${ruleId} no longer snoozed for ${patientId}\n`);
      }),
    );

  examples(alerts.command('parked'), 'vigil alerts parked', 'vigil alerts parked --json')
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
  examples(alerts.command('replay'), 'vigil alerts replay 3 --by "Ops on call"', 'vigil alerts parked && vigil alerts replay --all --by "Ops on call"')
    .description('ask the running server to send a parked webhook delivery again (or, with --all, every one)')
    .argument('[seq]', 'the seq of a parked delivery (see vigil alerts parked)', ARG.seq)
    .option('--all', 'every parked delivery')
    .requiredOption('--by <name>', BY_HELP, ARG.actor)
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (seq: number | undefined, opts: { all?: boolean; by: string; dataDir?: string }) => {
        if ((seq === undefined) === !opts.all) throw new UsageError('give the seq of one parked delivery, or --all (not both)');
        const by = requireActor(opts.by);
        const requested = await withAlerts(opts.dataDir, (a) => {
          const n = a.parking.requestReplay(seq);
          a.audit.record(by, 'webhook.replay', null, seq === undefined ? 'all' : `seq:${seq}`, { requested: n });
          return n;
        });
        process.stdout.write(`${requested} parked deliveries will be sent again\n`);
      }),
    );

  const rules = examples(program.command('rules').description('alert rules: defaults, programmes and per-patient overrides'), 'vigil rules list', 'vigil rules list --patient p-1a2b3c4d5e6f');
  examples(rules.command('list'), 'vigil rules list', 'vigil rules list --patient p-1a2b3c4d5e6f --json')
    .description('the rules with their sources; with --patient, the rules as they apply to that patient')
    .option('--patient <id>', 'patient id', ARG.patientId)
    .option('--json', 'print JSON')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (opts: { patient?: string; json?: boolean; dataDir?: string }) => {
        const list = opts.patient
          ? await withAlerts(opts.dataDir, (a) => {
              requirePatient(a.directory, opts.patient);
              return a.queries.rulesFor(opts.patient!);
            })
          : [...DEFAULT_RULE_SET, ...Object.values(PROGRAMME_RULE_SETS).flat()];
        if (opts.json) return void process.stdout.write(`${JSON.stringify(list)}\n`);
        printTable(list.map((r) => ({ id: r.id, kind: r.kind, title: r.title, source: r.source.slice(0, 70) })));
      }),
    );
  examples(rules.command('set'), `vigil rules set p-1a2b3c4d5e6f spo2.low '{"tiers":[{"severity":"critical","conditions":[{"field":"value","op":"<","value":85}]},{"severity":"warning","conditions":[{"field":"value","op":"<","value":88}]}]}' --by "Dr Jones" --reason "COPD, target 88-92 %" --for 30d`)
    .description('override values of a rule for one patient, within its safety floor')
    .argument('<patientId>', 'patient id', ARG.patientId)
    .argument('<ruleId>', 'rule id (see vigil rules list)')
    .argument('<json>', 'the override: a JSON object with the values that change', parsedBy(jsonObject, 'a JSON object, e.g. \'{"tiers":[...]}\''))
    .requiredOption('--by <name>', BY_HELP, ARG.actor)
    .requiredOption('--reason <text>', 'why (shown on the patient page and kept in the audit log)')
    .option('--for <duration>', 'the override stops applying after this long, e.g. 14d', ARG.duration)
    .option('--expires <time>', 'the override stops applying at this RFC 3339 time', ARG.time)
    .option('--json', 'print the rule as it now applies, as JSON')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (patientId: string, ruleId: string, override: Record<string, unknown>, opts: { by: string; reason: string; for?: string; expires?: string; json?: boolean; dataDir?: string }) => {
        const options = { reason: opts.reason, expiresAt: expiryOf(opts) };
        const { rule, programmes } = await withAlerts(opts.dataDir, async (a) => ({
          rule: await a.actions.setOverride(patientId, ruleId, override, requireActor(opts.by), options),
          programmes: a.directory.patient(patientId)?.programmes ?? [],
        }));
        const until = options.expiresAt ? ` until ${isoOrDash(options.expiresAt)}` : '';
        // A programme's rule on a patient outside that programme: stored, but it raises nothing until they join one.
        const how = appliesUnder(ruleId, programmes)
          ? 'the rule now applies as'
          : `stored, but the rule does not apply under the patient's programmes (${programmes.join(', ') || 'none'}); it would apply as`;
        process.stdout.write(opts.json ? `${JSON.stringify(rule)}\n` : `${ruleId} overridden for ${patientId}${until}; ${how}:\n${JSON.stringify(rule, null, 2)}\n`);
      }),
    );
  examples(rules.command('reset'), 'vigil rules reset p-1a2b3c4d5e6f spo2.low --by "Dr Jones"')
    .description("remove a patient's override of a rule")
    .argument('<patientId>', 'patient id', ARG.patientId)
    .argument('<ruleId>', 'rule id')
    .requiredOption('--by <name>', BY_HELP, ARG.actor)
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (patientId: string, ruleId: string, opts: { by: string; dataDir?: string }) => {
        await withAlerts(opts.dataDir, (a) => a.actions.clearOverride(patientId, ruleId, requireActor(opts.by)));
        process.stdout.write(`${ruleId} for ${patientId} back to the programme defaults\n`);
      }),
    );
  examples(rules.command('preset'), `vigil rules preset p-1a2b3c4d5e6f ${RULE_PRESETS[0]?.id ?? 'spo2.copd_target'} --by "Dr Jones"`)
    .description(`apply a named, sourced override in one step (${RULE_PRESETS.map((p) => `${p.id}: ${p.title}`).join('; ')})`)
    .argument('<patientId>', 'patient id', ARG.patientId)
    .argument('<presetId>', RULE_PRESETS.map((p) => p.id).join(', '), oneOf(RULE_PRESETS.map((p) => p.id) as [string, ...string[]]))
    .requiredOption('--by <name>', BY_HELP, ARG.actor)
    .option('--reason <text>', "why (default: the preset's title and source)")
    .option('--for <duration>', 'the override stops applying after this long', ARG.duration)
    .option('--expires <time>', 'the override stops applying at this RFC 3339 time', ARG.time)
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (patientId: string, presetId: string, opts: { by: string; reason?: string; for?: string; expires?: string; dataDir?: string }) => {
        const options = { reason: opts.reason, expiresAt: expiryOf(opts) };
        const rule = await withAlerts(opts.dataDir, (a) => a.actions.applyPreset(patientId, presetId, requireActor(opts.by), options));
        process.stdout.write(`${presetId} applied to ${rule.id} for ${patientId}\n`);
      }),
    );
}
