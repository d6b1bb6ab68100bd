import { TEMPLATE_MEASUREMENTS, type EducationInput, type MedicationInput } from '../../careloop/index.js';
import type { Programme, ReadingType } from '../../domain/index.js';
import { Rng, SimulatedHubApp, type DeviceConnection, type Fleet, type DeviceModel } from '../../simulators/index.js';
import type { Vigil } from '../../app/vigil.js';
import { seedDemoCheckins } from './demo-checkins.js';

const DAY = 86_400_000;
const MINUTE = 60_000;
const HISTORY_DAYS = 7;
const BY = { name: 'demo', origin: 'cli' };

/** Demo education items, attached to the plan or to an alert rule (docs/hub-protocol.md, education items). */
const EDUCATION: Readonly<Partial<Record<Programme, EducationInput[]>>> = {
  hypertension: [
    { attachTo: 'plan', title: 'Measuring your blood pressure', body: 'Sit quietly for 5 minutes first, back supported, arm at heart level; take two readings a minute apart.' },
    { attachTo: 'bp.crisis', title: 'Very high blood pressure', body: 'Sit quietly for 5 minutes and measure again. If it is still very high, or you have chest pain, breathlessness or a severe headache, call your emergency number.' },
  ],
  heart_failure: [{ attachTo: 'weight.gain', title: 'Weight going up', body: 'A quick gain can be fluid. Weigh yourself each morning after the toilet, before breakfast, and tell your team if it keeps rising.' }],
};

/** What each demo patient is prescribed, and how faithfully they measure and take it (varied on purpose). */
const CARE: Readonly<Partial<Record<Programme, { measure: number; medication: number; medications: MedicationInput[] }>>> = {
  hypertension: { measure: 0.9, medication: 0.85, medications: [{ name: 'Amlodipine', dose: '5 mg', times: ['08:00'], class: 'antihypertensive' }] },
  diabetes: { measure: 0.6, medication: 0.55, medications: [{ name: 'Metformin', dose: '500 mg', times: ['08:00', '20:00'], class: 'oral_antidiabetic' }] },
  heart_failure: {
    measure: 0.75,
    medication: 0.7,
    medications: [
      { name: 'Furosemide', dose: '40 mg', times: ['08:00'], class: 'diuretic' },
      { name: 'Bisoprolol', dose: '2.5 mg', times: ['08:00'], class: 'antihypertensive' },
    ],
  },
  copd: { measure: 0.45, medication: 0.4, medications: [{ name: 'Tiotropium inhaler', dose: '2 puffs', times: ['09:00'], class: 'bronchodilator' }] },
};

/**
 * Share of planned measurements each demo patient took in the uploaded history (a device spec's `adherence`).
 * Spot measurements only: a CGM or an activity tracker records by itself.
 */
export function demoMeasureAdherence(programme: Programme | undefined, model: DeviceModel): number {
  if (model === 'cgm' || model === 'activity_tracker') return 1;
  return (programme && CARE[programme]?.measure) ?? 1;
}

const DEVICE_FOR: Readonly<Partial<Record<ReadingType, DeviceModel>>> = { blood_pressure: 'bp_cuff', weight: 'scale', glucose: 'glucose_meter', spo2: 'pulse_oximeter' };

/**
 * The care loop in the demo (docs/hub-protocol.md): each programme patient gets a hub, a plan from the programme's
 * template and medications, both dated a week back, a week of dose answers drawn with the patient's adherence
 * (so the patient page shows figures at once), and a simulated hub app that answers what comes from now on.
 */
export async function startDemoCare(vigil: Vigil, fleet: Fleet, conn: DeviceConnection, patients: readonly { id: string; programmes: readonly Programme[] }[]): Promise<SimulatedHubApp[]> {
  const apps: SimulatedHubApp[] = [];
  const now = Date.now();
  let seed = 500;
  for (const patient of patients) {
    const programme = patient.programmes[0];
    const care = programme && CARE[programme];
    if (!programme || !care) continue;
    const hubId = `${patient.id}-hub`;
    const secret = vigil.registry.getDevice(hubId) ? await vigil.registry.rotateSecret(hubId) : (await vigil.registry.addDevice({ patientId: patient.id, id: hubId, kind: 'hub' })).secret;
    if (!vigil.care.plans.get(patient.id)) vigil.care.plans.set(patient.id, programme, TEMPLATE_MEASUREMENTS[programme], BY, now - HISTORY_DAYS * DAY);
    if (vigil.care.medications.of(patient.id).length === 0) for (const m of care.medications) vigil.care.medications.add(patient.id, m, BY, now - HISTORY_DAYS * DAY);
    if (vigil.care.education.of(patient.id).length === 0) for (const item of EDUCATION[programme] ?? []) vigil.care.education.add(patient.id, item, BY, now);
    seedDoseHistory(vigil, patient.id, hubId, care.medication, new Rng(seed), now);
    // Heart failure and COPD: symptom check-ins, answered about as faithfully as the patient measures.
    seedDemoCheckins(vigil, patient.id, hubId, programme, care.measure, new Rng(seed + 1000), now, HISTORY_DAYS);
    const measure = async (type: ReadingType) => {
      const device = fleet.devices.find((d) => d.spec.deviceId.startsWith(`${patient.id}-`) && d.spec.model === DEVICE_FOR[type]);
      if (device) await device.publish(device.nextReading());
    };
    const app = new SimulatedHubApp({ hubId, secret, seed: seed++, measureAdherence: care.measure, medicationAdherence: care.medication, replies: ['OK, will do.', 'Done, thank you.', 'Feeling a bit tired today.'] }, conn, measure);
    await app.start();
    apps.push(app);
  }
  return apps;
}

/** A week of doses as the hub would have answered them: taken, skipped, or no answer (missed). Idempotent. */
function seedDoseHistory(vigil: Vigil, patientId: string, hubId: string, adherence: number, rng: Rng, now: number): void {
  // The demo patients live in UTC (the default zone): a dose at 08:00 is at 08:00Z.
  for (const med of vigil.care.medications.of(patientId)) {
    if (med.stoppedAt !== null) continue;
    for (let d = HISTORY_DAYS; d >= 1; d--) {
      for (const time of med.times) {
        const today = new Date(now).toISOString().slice(0, 10);
        const dueAt = Date.parse(`${today}T${time}:00Z`) - d * DAY;
        const windowEndsAt = dueAt + med.windowMinutes * MINUTE;
        if (dueAt < med.startedAt || windowEndsAt > now) continue;
        const id = `d-demo-${med.id.slice(2)}-${dueAt}`;
        const message = { v: 1 as const, id, kind: 'medication_reminder' as const, created: new Date(dueAt).toISOString(), expiresAt: new Date(windowEndsAt).toISOString(), medication: { id: med.id, name: med.name, dose: med.dose }, dueAt: new Date(dueAt).toISOString(), windowEndsAt: new Date(windowEndsAt).toISOString() };
        if (!vigil.care.inbox.add({ id, patientId, hubId, message, subject: med.id, dueAt, windowEndsAt, createdAt: dueAt, expiresAt: windowEndsAt })) continue;
        vigil.care.inbox.markSent(id, dueAt);
        const roll = rng.next();
        if (roll < adherence) vigil.care.inbox.answer(id, 'taken', dueAt + 10 * MINUTE);
        else if (roll < adherence + (1 - adherence) / 2) vigil.care.inbox.answer(id, 'skipped', dueAt + 15 * MINUTE);
      }
    }
  }
  vigil.care.inbox.markMissed(now);
}
