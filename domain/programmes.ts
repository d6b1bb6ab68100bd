/** Care programmes a patient can be enrolled in; each brings its own rule set (alerts/rules/catalogue.ts). */
export const PROGRAMMES = ['hypertension', 'diabetes', 'heart_failure', 'copd'] as const;
export type Programme = (typeof PROGRAMMES)[number];

export function isProgramme(value: unknown): value is Programme {
  return typeof value === 'string' && (PROGRAMMES as readonly string[]).includes(value);
}
