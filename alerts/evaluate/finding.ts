import type { Severity } from '../rules/schema.js';

/**
 * What one rule concluded for one patient at one moment: a severity (the condition holds), `null` (clearly
 * back in range: may resolve an open alert), or no finding at all (not enough data, or inside the hysteresis
 * band: leave things as they are).
 */
export interface Finding {
  readonly ruleId: string;
  /** What the alert is about besides the patient and rule: a device id for device rules, else ''. */
  readonly subject: string;
  readonly severity: Severity | null;
  /** Time of measurement the finding is about (epoch ms), never the time of arrival. */
  readonly observedAt: number;
  readonly values: Readonly<Record<string, number>>;
  readonly message: string;
  /** How far past its line the finding is; the worst of an alert's findings is the one with the highest. */
  readonly score: number;
  /**
   * With `severity: null`: between the line and its clear margin (hysteresis). Not abnormal, not clearly back
   * in range either: an open alert stays, and its clear timer starts again.
   */
  readonly band?: boolean;
}
