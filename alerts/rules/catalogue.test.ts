import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RULE_SET, PROGRAMME_RULE_SETS } from './catalogue.js';
import { SAFETY_FLOORS } from './floors.js';
import { RULE_PRESETS } from './presets.js';

describe('rule documentation', () => {
  const doc = readFileSync(new URL('../../docs/alerts.md', import.meta.url), 'utf8');
  it('lists every default and programme rule in docs/alerts.md', () => {
    for (const rule of [...DEFAULT_RULE_SET, ...Object.values(PROGRAMME_RULE_SETS).flat()]) expect(doc, rule.id).toContain(`\`${rule.id}\``);
  });
  it('documents every safety floor line and every preset', () => {
    const floors = doc.slice(doc.indexOf('## Safety floors'));
    for (const floor of SAFETY_FLOORS) {
      expect(floors, floor.ruleId).toContain(`\`${floor.ruleId}\``);
      for (const line of floor.critical) expect(floors, `${floor.ruleId} ${line.field}`).toContain(String(line.value));
    }
    for (const preset of RULE_PRESETS) expect(doc, preset.id).toContain(`\`${preset.id}\``);
  });
});
