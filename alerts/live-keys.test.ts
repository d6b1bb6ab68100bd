import { describe, expect, it } from 'vitest';
import { LiveKeys } from './live-keys.js';

describe('live alert keys', () => {
  it('holds a key per patient, rule and subject, and forgets a patient with none left', () => {
    const live = new LiveKeys();
    live.add('p1', 'bp-high', '');
    live.add('p1', 'device-silent', 'dev-1');
    expect(live.has('p1', 'bp-high', '')).toBe(true);
    expect(live.has('p1', 'device-silent', 'dev-1')).toBe(true);
    expect(live.has('p1', 'device-silent', 'dev-2')).toBe(false);
    expect(live.has('p2', 'bp-high', '')).toBe(false);
    // The separator keeps a rule and subject from running into another pair's.
    expect(live.has('p1', 'device-silent\u0000dev', '1')).toBe(false);
    live.delete('p1', 'bp-high', '');
    expect(live.has('p1', 'bp-high', '')).toBe(false);
    live.delete('p1', 'device-silent', 'dev-1');
    live.delete('p3', 'bp-high', '');
    expect(live.has('p1', 'device-silent', 'dev-1')).toBe(false);
    live.add('p1', 'bp-high', '');
    expect(live.has('p1', 'bp-high', '')).toBe(true);
  });
});
