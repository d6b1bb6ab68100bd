/**
 * The alert timers the tests' alerts run with (openAlertsCore, createAlerts): a critical alert escalates after
 * 15 minutes, reminders after 4 h (critical) and 24 h (warning), snoozes of at most 24 h. Spread into the options,
 * so that a test that needs other timers says which.
 */
export const TEST_ALERT_TIMERS = {
  escalateAfterMinutes: 15,
  realertHours: { critical: 4, warning: 24, info: 0 },
  snoozeMaxHours: 24,
} as const;
