/** Condition profiles: the physiology a simulated patient's devices draw from. */
export type Condition = 'hypertension' | 'type1_diabetes' | 'type2_diabetes' | 'heart_failure' | 'copd' | 'healthy';

export interface Physiology {
  readonly systolic: number;
  readonly diastolic: number;
  readonly pulse: number;
  /** Mean glucose, mg/dL, and its swing after meals. */
  readonly glucose: number;
  readonly glucoseSwing: number;
  readonly weightKg: number;
  readonly spo2: number;
  readonly temperature: number;
  readonly stepsPerHour: number;
}

export const PROFILES: Readonly<Record<Condition, Physiology>> = {
  // Stage 2 hypertension on home readings (docs/clinical-reference.md: home average >= 135/85).
  hypertension: { systolic: 148, diastolic: 92, pulse: 74, glucose: 100, glucoseSwing: 30, weightKg: 88, spo2: 97, temperature: 36.7, stepsPerHour: 350 },
  type1_diabetes: { systolic: 122, diastolic: 78, pulse: 70, glucose: 160, glucoseSwing: 90, weightKg: 70, spo2: 98, temperature: 36.7, stepsPerHour: 450 },
  type2_diabetes: { systolic: 134, diastolic: 84, pulse: 76, glucose: 150, glucoseSwing: 70, weightKg: 96, spo2: 97, temperature: 36.7, stepsPerHour: 300 },
  heart_failure: { systolic: 112, diastolic: 70, pulse: 82, glucose: 110, glucoseSwing: 30, weightKg: 81, spo2: 95, temperature: 36.6, stepsPerHour: 180 },
  // COPD patients often live with SpO2 of 88-92 % (docs/clinical-reference.md: a per-patient target).
  copd: { systolic: 130, diastolic: 80, pulse: 88, glucose: 105, glucoseSwing: 30, weightKg: 68, spo2: 91, temperature: 36.8, stepsPerHour: 150 },
  healthy: { systolic: 116, diastolic: 74, pulse: 66, glucose: 95, glucoseSwing: 35, weightKg: 72, spo2: 98, temperature: 36.6, stepsPerHour: 600 },
};
