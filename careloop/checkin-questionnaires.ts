import type { Programme } from '../domain/index.js';

/** Vigil's own code system for check-in items that have no LOINC term (docs/checkins.md "Codes"). */
export const CHECKIN_ITEM_SYSTEM = 'urn:vigil:checkin-item';
export const SNOMED = 'http://snomed.info/sct';

export interface CheckinAnswerOption {
  readonly code: string;
  readonly text: string;
  /** Ordinal score for the timeline and the rules: 0 is the patient's usual (or no symptom); higher is worse. */
  readonly score: number;
}

export interface CheckinItem {
  readonly id: string;
  readonly text: string;
  /** The coded concept the answer is an observation of: LOINC or SNOMED CT where one fits, else Vigil's system. */
  readonly code: { readonly system: string; readonly code: string; readonly display: string };
  readonly answers: readonly CheckinAnswerOption[];
}

export interface Questionnaire {
  readonly id: string;
  readonly title: string;
  /** Where the items come from (docs/checkins.md). */
  readonly source: string;
  readonly items: readonly CheckinItem[];
}

const local = (code: string, display: string) => ({ system: CHECKIN_ITEM_SYSTEM, code, display });

/**
 * Heart failure: the congestion symptoms HFSA/AHA and ESC 2021 self-care advice asks patients to watch every day
 * (breathlessness, swelling of feet and ankles, needing more pillows to sleep). The KCCQ (LOINC panel 71941-9)
 * asks about the same symptoms over two weeks; its items' recall period differs from a daily check-in, so their
 * LOINC codes would misstate what was asked: these items use Vigil's code system.
 */
const HF_DAILY: Questionnaire = {
  id: 'hf_daily',
  title: 'Heart failure check-in',
  source: 'ESC 2021 HF guideline (McDonagh et al., Eur Heart J 2021;42:3599) self-care: watch for increasing breathlessness and oedema; HFSA/AHA patient self-care advice',
  items: [
    {
      id: 'breathlessness',
      text: 'Compared with your usual, how is your breathing today?',
      code: local('hf-breathlessness-change', 'Breathlessness compared with usual, today'),
      answers: [
        { code: 'better', text: 'Better than usual', score: 0 },
        { code: 'same', text: 'Same as usual', score: 0 },
        { code: 'worse', text: 'Worse than usual', score: 1 },
        { code: 'much_worse', text: 'Much worse than usual', score: 2 },
      ],
    },
    {
      id: 'ankle_swelling',
      text: 'Are your feet, ankles or legs more swollen than usual?',
      code: local('hf-ankle-swelling', 'Swelling of feet, ankles or legs compared with usual, today'),
      answers: [
        { code: 'no', text: 'No', score: 0 },
        { code: 'a_little', text: 'A little more', score: 1 },
        { code: 'a_lot', text: 'A lot more', score: 2 },
      ],
    },
    {
      id: 'orthopnoea',
      text: 'Last night, did you need more pillows, or to sleep sitting up, because of your breathing?',
      code: local('hf-orthopnoea', 'Needed to sleep propped up because of breathing, last night'),
      answers: [
        { code: 'no', text: 'No', score: 0 },
        { code: 'yes', text: 'Yes', score: 1 },
      ],
    },
  ],
};

/**
 * COPD: sputum colour (purulence is a cardinal symptom of an exacerbation, Anthonisen 1987; GOLD 2025) and
 * breathlessness on exertion as the mMRC grade (Bestall 1999). LOINC has no term for the mMRC grade; SNOMED CT
 * 870179002 is the mMRC dyspnoea scale (as the HL7 Portugal pulmonary rehabilitation IG codes it). Sputum colour
 * has no LOINC survey term: Vigil's code system.
 */
const COPD_DAILY: Questionnaire = {
  id: 'copd_daily',
  title: 'COPD check-in',
  source: 'GOLD 2025 report (exacerbation: worse breathlessness, sputum volume and purulence); Anthonisen 1987; mMRC grades (Bestall 1999)',
  items: [
    {
      id: 'sputum_colour',
      text: 'What colour is the phlegm (sputum) you cough up today?',
      code: local('copd-sputum-colour', 'Sputum colour, today'),
      answers: [
        { code: 'none', text: 'I have none', score: 0 },
        { code: 'clear', text: 'Clear or white', score: 0 },
        { code: 'yellow', text: 'Yellow', score: 1 },
        { code: 'green', text: 'Green', score: 2 },
        { code: 'brown', text: 'Brown or with blood', score: 2 },
      ],
    },
    {
      id: 'breathlessness_exertion',
      text: 'Which best describes your breathlessness today?',
      code: { system: SNOMED, code: '870179002', display: 'Modified Medical Research Council dyspnea scale' },
      answers: [
        { code: 'grade_0', text: 'Only with strenuous exercise', score: 0 },
        { code: 'grade_1', text: 'When hurrying on the level or walking up a slight hill', score: 1 },
        { code: 'grade_2', text: 'I walk slower than people my age, or stop for breath at my own pace', score: 2 },
        { code: 'grade_3', text: 'I stop for breath after about 100 m or a few minutes', score: 3 },
        { code: 'grade_4', text: 'Too breathless to leave the house, or breathless when dressing', score: 4 },
      ],
    },
  ],
};

export const QUESTIONNAIRES: Readonly<Record<string, Questionnaire>> = { hf_daily: HF_DAILY, copd_daily: COPD_DAILY };
export const QUESTIONNAIRE_IDS = ['hf_daily', 'copd_daily'] as const;
export type QuestionnaireId = (typeof QUESTIONNAIRE_IDS)[number];

/** The questionnaire as the hub receives it (docs/hub-protocol.md "Check-in"). */
export function questionnaireWire(q: Questionnaire) {
  return { id: q.id, title: q.title, questions: q.items.map((i) => ({ id: i.id, text: i.text, answers: i.answers.map((a) => ({ code: a.code, text: a.text })) })) };
}

/** Answers that, with a heart-failure weight gain, raise its alert (alerts/evaluate/symptom-raise.ts). */
export function isWorseBreathing(questionnaire: string, question: string, answer: string): boolean {
  if (questionnaire !== 'hf_daily') return false;
  return (question === 'breathlessness' && (answer === 'worse' || answer === 'much_worse')) || (question === 'orthopnoea' && answer === 'yes');
}

export const TEMPLATE_CHECKINS: Readonly<Partial<Record<Programme, readonly { questionnaire: QuestionnaireId; times: string[] }[]>>> = {
  // After the 07:30 morning weight, so that both are in before the clinic's morning review.
  heart_failure: [{ questionnaire: 'hf_daily', times: ['08:30'] }],
  copd: [{ questionnaire: 'copd_daily', times: ['10:00'] }],
};
