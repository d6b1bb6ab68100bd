import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RULE_SET, PROGRAMME_RULE_SETS } from './catalogue.js';

describe('rule documentation', () => {
  it('lists every default and programme rule in docs/alerts.md', () => {
    const doc = readFileSync(new URL('../../docs/alerts.md', import.meta.url), 'utf8');
    for (const rule of [...DEFAULT_RULE_SET, ...Object.values(PROGRAMME_RULE_SETS).flat()]) expect(doc, rule.id).toContain(`\`${rule.id}\``);
  });
});
