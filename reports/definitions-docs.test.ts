import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { DEVICE_SUPPLY_CODES, PROGRAMME_PERIOD_DAYS } from './programme-definitions.js';
import { RISK_BANDS, RISK_MAX_AGE_HOURS, TREND_POINTS } from './risk-definitions.js';
import { WEIGHT_GAIN_RULE } from './weight-report.js';

const docs = await readFile(new URL('../docs/reports.md', import.meta.url), 'utf8');

/** The report definitions are data; docs/reports.md states the same numbers (as alerts.md does for the rules). */
describe('docs/reports.md states the definitions the code uses', () => {
  it('the NEWS2 bands of every risk parameter, the age limit and the trend points', () => {
    const row = (label: string) => docs.split('\n').find((l) => l.startsWith(`| ${label}`)) ?? '';
    const labels = { spo2: 'SpO2, scale 1', pulse: 'pulse (/min)', systolic: 'systolic BP', temperature: 'temperature' } as const;
    for (const b of RISK_BANDS) {
      const line = row(labels[b.parameter]);
      for (const low of b.low) expect(line, `${b.parameter} <= ${low.max}`).toMatch(new RegExp(`\\b${String(low.max).replace('.', '\\.')}(\\.0)?\\b`));
      for (const high of b.high) expect(line, `${b.parameter} >= ${high.min}`).toContain(String(high.min));
    }
    expect(docs).toContain(`more than **${RISK_MAX_AGE_HOURS} hours** ago`);
    expect(docs).toContain(`adds **${TREND_POINTS}** point`);
  });

  it('the CMS codes and their days, and the 30-day period', () => {
    for (const c of DEVICE_SUPPLY_CODES) expect(docs).toContain(`**${c.code}** at ${c.minDays}-${c.maxDays} days`);
    expect(docs).toContain(`${PROGRAMME_PERIOD_DAYS}-day period`);
  });

  it("the weight-gain windows of Vigil's rule", () => {
    for (const w of WEIGHT_GAIN_RULE.windows) expect(docs).toMatch(new RegExp(`more than ${w.riseKg} kg\\*\\* over (the lowest morning weight|that) of the previous \\*\\*${w.days}\\*\\*`));
  });
});
