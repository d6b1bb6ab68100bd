/** Unit conversions to the units Vigil stores (UCUM: mm[Hg], mg/dL, kg, Cel). */

// 1 kPa = 7.50062 mmHg.
export const MMHG_PER_KPA = 7.50062;
// docs/clinical-reference.md: mmol/L to mg/dL x 18.0182 (molar mass of glucose 180.16 g/mol).
export const MGDL_PER_MMOLL = 18.0182;
// Exact by definition of the international avoirdupois pound.
export const KG_PER_LB = 0.45359237;

export function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

export function pressureToMmHg(value: number, unit: 'mmHg' | 'kPa'): number {
  return unit === 'kPa' ? round(value * MMHG_PER_KPA, 1) : value;
}

export function glucoseToMgDl(value: number, unit: 'mg/dL' | 'mmol/L'): number {
  return unit === 'mmol/L' ? round(value * MGDL_PER_MMOLL, 1) : value;
}

export function weightToKg(value: number, unit: 'kg' | 'lb'): number {
  return unit === 'lb' ? round(value * KG_PER_LB, 3) : value;
}

export function temperatureToCelsius(value: number, unit: 'Cel' | 'degF'): number {
  return unit === 'degF' ? round(((value - 32) * 5) / 9, 2) : value;
}

/**
 * A UCUM code as a person reads it beside a number: "mmHg" for `mm[Hg]`, "°C" for `Cel`, "bpm" for `/min`;
 * "" for a count or a flag (`1`, `{steps}` is said by the words around it). Codes stay in the API and exports.
 */
export function displayUnit(ucum: string): string {
  switch (ucum) {
    case 'mm[Hg]':
      return 'mmHg';
    case 'Cel':
      return '°C';
    case '[degF]':
    case 'degF':
      return '°F';
    case '/min':
      return 'bpm';
    case 'kg/m2':
      return 'kg/m²';
    case '1':
    case '{steps}':
      return '';
    default:
      return ucum;
  }
}
