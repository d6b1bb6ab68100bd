import type { Command } from 'commander';
import { z } from 'zod';
import { QUESTIONNAIRE_IDS, templateCheckins, timeOfDaySchema, WEEKDAYS, type CareLoop, type PlannedCheckin } from '../../careloop/index.js';
import { PROGRAMMES, VigilError, type Programme } from '../../domain/index.js';
import { ARG, eachParsedBy, examples, oneOf } from '../args.js';
import { action } from '../run.js';
import { DATA_DIR_HELP } from '../state-config.js';

type WithCare = <T>(opts: { dataDir?: string }, body: (care: CareLoop, by: { name: string; origin: string }) => Promise<T> | T) => Promise<T>;

/** `hf_daily@08:30`, `copd_daily@10:00,18:00/mon,wed,fri`, `hf_daily@08:30/mon,thu/120` (a 120-minute window). */
const checkinSpec = z.string().transform((text, ctx): Partial<PlannedCheckin> => {
  const m = /^([a-z_]+)@([0-9:,]+)(?:\/([a-z,]+))?(?:\/(\d{1,3}))?$/.exec(text);
  const questionnaire = m ? z.enum(QUESTIONNAIRE_IDS).safeParse(m[1]) : undefined;
  const times = m ? m[2]!.split(',') : [];
  const days = m?.[3] ? m[3].split(',') : [...WEEKDAYS];
  if (!m || !questionnaire?.success || !times.every((t) => timeOfDaySchema.safeParse(t).success) || !days.every((d) => (WEEKDAYS as readonly string[]).includes(d))) {
    ctx.addIssue({ code: 'custom', message: 'bad check-in' });
    return z.NEVER;
  }
  return { questionnaire: questionnaire.data, times, days: days as PlannedCheckin['days'], ...(m[4] ? { windowMinutes: Number(m[4]) } : {}) };
});
const CHECKIN_HELP = `QUESTIONNAIRE@HH:MM[,HH:MM...][/DAY,DAY...][/WINDOW_MINUTES]; questionnaires: ${QUESTIONNAIRE_IDS.join(', ')}; days: ${WEEKDAYS.join(',')}`;

/** `vigil plans set-checkins`: the symptom check-ins of a patient's plan (docs/checkins.md); audited. */
export function registerCheckinCommand(plans: Command, withCare: WithCare): void {
  examples(
    plans.command('set-checkins'),
    'vigil plans set-checkins p-1a2b3c4d5e6f --from heart_failure',
    'vigil plans set-checkins p-1a2b3c4d5e6f --checkin hf_daily@08:30/mon,wed,fri',
    'vigil plans set-checkins p-1a2b3c4d5e6f --none',
  )
    .description("replace the patient's symptom check-ins (questionnaires sent to the hub at local times and days; answers stored and used by rules); audited")
    .argument('<patientId>', 'the patient', ARG.patientId)
    .option('--from <programme>', `start from a programme's check-ins: ${PROGRAMMES.join(', ')} (hypertension and diabetes have none)`, oneOf(PROGRAMMES))
    .option('--checkin <spec...>', CHECKIN_HELP, eachParsedBy(checkinSpec, CHECKIN_HELP))
    .option('--none', 'remove every check-in')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (patientId: string, opts: { from?: Programme; checkin?: Partial<PlannedCheckin>[]; none?: boolean; dataDir?: string }) => {
        const given = opts.checkin ?? [];
        const base = opts.from ? templateCheckins(opts.from) : [];
        if (!opts.none && base.length === 0 && given.length === 0) throw new VigilError('VIGIL_ERR_CONFIG', 'give --from a programme with check-ins, at least one --checkin, or --none');
        const checkins = opts.none ? [] : [...base.filter((b) => !given.some((g) => g.questionnaire === b.questionnaire)), ...given];
        const plan = await withCare(opts, (care, by) => care.checkins.plans.set(patientId, checkins, by, Date.now()));
        process.stdout.write(
          plan.checkins.length === 0 ? `check-ins of ${patientId} removed\n` : `check-ins of ${patientId} set: ${plan.checkins.map((c) => `${c.questionnaire} ${c.times.join(',')}${c.days.length === 7 ? '' : ` on ${c.days.join(',')}`}`).join('; ')}\n`,
        );
      }),
    );
}
