/**
 * What a medication is for, as far as rules need to know: the adherence rule reads missed doses of one class
 * (e.g. antihypertensive) next to the readings that class treats. `other` is every medication no rule reads.
 */
export const MEDICATION_CLASSES = ['antihypertensive', 'diuretic', 'insulin', 'oral_antidiabetic', 'anticoagulant', 'bronchodilator', 'other'] as const;
export type MedicationClass = (typeof MEDICATION_CLASSES)[number];
