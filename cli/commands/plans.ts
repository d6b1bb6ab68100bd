import type { Command } from 'commander';
import { z } from 'zod';
import { careDirectory, openState } from '../../app/state.js';
import { CareLoop, PLAN_TEMPLATES, TEMPLATE_MEASUREMENTS, timeOfDaySchema, type PlannedMeasurement, type PlanTemplate } from '../../careloop/index.js';
import { registerCheckinCommand } from './plans-checkins.js';
import { isProgramme, MEDICATION_CLASSES, READING_TYPES, VigilError, type MedicationClass } from '../../domain/index.js';
import { InfluxStore, SqliteStore, type ReadingStore } from '../../ingest/index.js';
import { AuditLog } from '../../state/index.js';
import { ARG, eachParsedBy, examples, oneOf, parsedBy } from '../args.js';
import { action, isoOrDash, printTable } from '../run.js';
import { DATA_DIR_HELP, stateConfig } from '../state-config.js';
import { shipAuditAndClose } from '../ship-audit.js';
import { cliActor } from '../cli-actor.js';

interface DataDirOption {
  dataDir?: string;
}

/** `blood_pressure@08:00,20:00`, `weight@07:30/90` (a 90-minute window), `glucose@continuous`. */
const measureSpec = z.string().transform((text, ctx): Partial<PlannedMeasurement> => {
  const m = /^([a-z_0-9]+)@([0-9:,]+|continuous)(?:\/(\d{1,3}))?$/.exec(text);
  const type = m ? z.enum(READING_TYPES).safeParse(m[1]) : undefined;
  const times = m && m[2] !== 'continuous' ? m[2]!.split(',') : [];
  if (!m || !type?.success || !times.every((t) => timeOfDaySchema.safeParse(t).success)) {
    ctx.addIssue({ code: 'custom', message: 'bad measure' });
    return z.NEVER;
  }
  return { type: type.data, times, continuous: m[2] === 'continuous', ...(m[3] ? { windowMinutes: Number(m[3]) } : {}) };
});
const MEASURE_HELP = 'TYPE@HH:MM[,HH:MM...][/WINDOW_MINUTES] or TYPE@continuous, e.g. blood_pressure@08:00,20:00';
const timesList = parsedBy(z.string().transform((t) => t.split(',')).pipe(z.array(timeOfDaySchema).min(1).max(8)), 'local times of day, comma-separated, e.g. 08:00,20:00');
const minutes = parsedBy(z.coerce.number().int().min(15).max(720), 'a whole number of minutes from 15 to 720');

/** The state database, the reading store (for adherence) and a care loop on them, closed afterwards. */
async function withCare<T>(opts: DataDirOption, body: (care: CareLoop, by: { name: string; origin: string }) => Promise<T> | T): Promise<T> {
  const config = stateConfig(opts.dataDir);
  const { db, registry } = openState(config.dataDir, { defaultTimeZone: config.defaultTimeZone });
  try {
    const store: ReadingStore = config.influx ? await InfluxStore.open(config.influx) : new SqliteStore(config.dataDir);
    try {
      const care = new CareLoop({ db, audit: new AuditLog(db), readings: store, directory: careDirectory(registry), log: { warn: () => undefined, error: () => undefined } });
      return await body(care, cliActor());
    } finally {
      await store.close();
    }
  } finally {
    await shipAuditAndClose(db, config.databaseUrl);
  }
}


const pct = (share: number | null) => (share === null ? '-' : `${Math.round(share * 100)} %`);

/** `vigil plans ...`: monitoring plans and medication schedules (docs/hub-protocol.md), safe while the server runs. */
export function registerPlans(program: Command): void {
  const plans = examples(
    program.command('plans').description("show and set patients' monitoring plans and medication schedules (reminders go to the patient's hub)"),
    'vigil plans set p-1a2b3c4d5e6f --from hypertension',
    'vigil plans show p-1a2b3c4d5e6f',
  );

  examples(plans.command('show'), 'vigil plans show p-1a2b3c4d5e6f', 'vigil plans show p-1a2b3c4d5e6f --days 30 --json')
    .description("the patient's plan, medications, and measurement and medication adherence")
    .argument('<patientId>', 'the patient', ARG.patientId)
    .option('--days <n>', 'adherence over this many days (1-90)', parsedBy(z.coerce.number().int().min(1).max(90), 'a whole number from 1 to 90'), 7)
    .option('--json', 'print as JSON')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (patientId: string, opts: { days: number; json?: boolean } & DataDirOption) => {
        await withCare(opts, async (care) => {
          const adherence = await care.adherence(patientId, opts.days);
          const plan = care.plans.get(patientId) ?? null;
          const medications = care.medications.of(patientId);
          const education = care.education.of(patientId);
          if (opts.json) return void process.stdout.write(`${JSON.stringify({ plan, medications, education, checkins: care.checkins.plans.get(patientId) ?? null, hub: care.hubOf(patientId) ?? null, adherence: { days: opts.days, ...adherence } })}\n`);
          process.stdout.write(plan ? `plan (${plan.template}), updated ${isoOrDash(plan.updatedAt)} by ${plan.updatedBy}; hub: ${care.hubOf(patientId) ?? 'none'}\n` : 'no plan (set one with "vigil plans set")\n');
          printTable(adherence.measurements.map((m) => ({ measurement: m.type, when: m.continuous ? 'continuous' : (plan?.measurements.find((p) => p.type === m.type && !p.continuous)?.times.join(' ') ?? ''), planned: m.planned, arrived: m.arrived, adherence: pct(m.share) })));
          process.stdout.write(`\nmedications (last ${opts.days} days)\n`);
          printTable(medications.map((m) => {
            const a = adherence.medications.find((x) => x.medicationId === m.id);
            return { id: m.id, name: m.name, dose: m.dose, times: m.times.join(' '), stopped: isoOrDash(m.stoppedAt), taken: a?.taken, skipped: a?.skipped, missed: a?.missed, adherence: pct(a?.share ?? null) };
          }));
          process.stdout.write('\neducation items\n');
          printTable(education.map((e) => ({ id: e.id, 'attached to': e.attachTo, title: e.title, link: e.link ?? '-' })));
          process.stdout.write('\ncheck-ins\n');
          printTable((care.checkins.plans.get(patientId)?.checkins ?? []).map((c) => ({ questionnaire: c.questionnaire, times: c.times.join(' '), days: c.days.length === 7 ? 'every day' : c.days.join(' '), window: `${c.windowMinutes} min` })));
        });
      }),
    );

  examples(
    plans.command('set'),
    'vigil plans set p-1a2b3c4d5e6f --from hypertension',
    'vigil plans set p-1a2b3c4d5e6f --measure blood_pressure@08:00,20:00 --measure weight@07:30/90',
    'vigil plans set p-1a2b3c4d5e6f --from diabetes --measure glucose@continuous',
  )
    .description("replace the patient's plan: a programme's template, or measurements given here (which replace the template's of the same type); audited")
    .argument('<patientId>', 'the patient', ARG.patientId)
    .option('--from <programme>', `start from a programme's template: ${PLAN_TEMPLATES.filter((t) => t !== 'custom').join(', ')}`, oneOf(PLAN_TEMPLATES))
    .option('--measure <spec...>', MEASURE_HELP, eachParsedBy(measureSpec, MEASURE_HELP))
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (patientId: string, opts: { from?: PlanTemplate; measure?: Partial<PlannedMeasurement>[] } & DataDirOption) => {
        const base = opts.from && isProgramme(opts.from) ? TEMPLATE_MEASUREMENTS[opts.from] : [];
        const given = opts.measure ?? [];
        if (base.length === 0 && given.length === 0) throw new VigilError('VIGIL_ERR_CONFIG', 'give --from a programme, or at least one --measure');
        const measurements = [...base.filter((b) => !given.some((g) => g.type === b.type && g.continuous === b.continuous)), ...given];
        const plan = await withCare(opts, (care, by) => {
          return care.plans.set(patientId, opts.from ?? 'custom', measurements, by, Date.now());
        });
        process.stdout.write(`plan of ${patientId} set: ${plan.measurements.map((m) => `${m.type} ${m.continuous ? 'continuous' : m.times.join(',')}`).join('; ')}\n`);
      }),
    );

  registerCheckinCommand(plans, withCare);

  examples(plans.command('add-medication'), 'vigil plans add-medication p-1a2b3c4d5e6f --name Ramipril --dose "5 mg" --times 08:00 --class antihypertensive', 'vigil plans add-medication p-1a2b3c4d5e6f --name Metformin --dose "500 mg" --times 08:00,20:00 --window 90')
    .description('add a medication with its times of day: the hub reminds the patient, who answers taken, skipped or snoozed; no answer in the window is a missed dose')
    .argument('<patientId>', 'the patient', ARG.patientId)
    .requiredOption('--name <name>', 'the medication', ARG.name)
    .requiredOption('--dose <dose>', 'the dose as the patient sees it, e.g. "5 mg"', ARG.name)
    .requiredOption('--times <HH:MM,...>', "local times of day in the patient's time zone", timesList)
    .option('--window <minutes>', 'minutes after each time before the dose counts as missed (default 120)', minutes)
    .option('--class <class>', `what it treats, for the adherence rules: ${MEDICATION_CLASSES.join(', ')} (default other)`, oneOf(MEDICATION_CLASSES))
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (patientId: string, opts: { name: string; dose: string; times: string[]; window?: number; class?: MedicationClass } & DataDirOption) => {
        const input = { name: opts.name, dose: opts.dose, times: opts.times, ...(opts.window ? { windowMinutes: opts.window } : {}), ...(opts.class ? { class: opts.class } : {}) };
        const med = await withCare(opts, (care, by) => care.medications.add(patientId, input, by, Date.now()));
        process.stdout.write(`medication ${med.id} added: ${med.name} ${med.dose} at ${med.times.join(', ')}\n`);
      }),
    );

  examples(
    plans.command('add-education'),
    'vigil plans add-education p-1a2b3c4d5e6f --attach-to bp.crisis --title "Very high blood pressure" --body "Sit quietly for 5 minutes and measure again. If it is still above 180/120, call 999."',
    'vigil plans add-education p-1a2b3c4d5e6f --attach-to plan --title "Measuring your blood pressure" --body "Sit for 5 minutes first, arm supported at heart level." --link https://www.bhf.org.uk/',
  )
    .description('attach a short education item to the plan (sent with every reminder) or to an alert rule (sent with a message about one of its alerts); audited')
    .argument('<patientId>', 'the patient', ARG.patientId)
    .requiredOption('--attach-to <plan|ruleId>', '"plan", or an alert rule id from "vigil rules list" (e.g. bp.crisis)', parsedBy(z.string().regex(/^[a-z0-9_.-]{1,80}$/), '"plan" or a rule id such as bp.crisis'))
    .requiredOption('--title <text>', 'the title the hub shows (at most 120 characters)', parsedBy(z.string().trim().min(1).max(120), 'a non-empty text of at most 120 characters'))
    .requiredOption('--body <text>', 'the text (at most 1000 characters)', parsedBy(z.string().trim().min(1).max(1000), 'a non-empty text of at most 1000 characters'))
    .option('--link <url>', 'further reading (https)', parsedBy(z.url({ protocol: /^https$/ }), 'an https URL such as https://www.bhf.org.uk/'))
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (patientId: string, opts: { attachTo: string; title: string; body: string; link?: string } & DataDirOption) => {
        const input = { attachTo: opts.attachTo, title: opts.title, body: opts.body, ...(opts.link ? { link: opts.link } : {}) };
        const item = await withCare(opts, (care, by) => care.education.add(patientId, input, by, Date.now()));
        process.stdout.write(`education item ${item.id} attached to ${item.attachTo}: ${item.title}\n`);
      }),
    );

  examples(plans.command('remove-education'), 'vigil plans remove-education p-1a2b3c4d5e6f e-0a1b2c3d4e5f')
    .description('remove an education item: later reminders and messages go without it; audited')
    .argument('<patientId>', 'the patient', ARG.patientId)
    .argument('<itemId>', 'the item (from "vigil plans show")', parsedBy(z.string().regex(/^e-[0-9a-f]{12}$/), 'an education item id such as e-0a1b2c3d4e5f'))
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (patientId: string, itemId: string, opts: DataDirOption) => {
        await withCare(opts, (care, by) => care.education.remove(patientId, itemId, by, Date.now()));
        process.stdout.write(`education item ${itemId} removed\n`);
      }),
    );

  examples(plans.command('stop-medication'), 'vigil plans stop-medication p-1a2b3c4d5e6f m-0a1b2c3d4e5f')
    .description('stop a medication: no more reminders; its doses stay in the record')
    .argument('<patientId>', 'the patient', ARG.patientId)
    .argument('<medicationId>', 'the medication (from "vigil plans show")', parsedBy(z.string().regex(/^m-[0-9a-f]{12}$/), 'a medication id such as m-0a1b2c3d4e5f'))
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (patientId: string, medicationId: string, opts: DataDirOption) => {
        await withCare(opts, (care, by) => care.medications.stop(patientId, medicationId, by, Date.now()));
        process.stdout.write(`medication ${medicationId} stopped\n`);
      }),
    );
}
