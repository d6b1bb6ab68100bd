import type { WireReadingInput } from '../domain/index.js';

/**
 * Clinical episodes a simulated device can go through now and then, so that a demo or test fleet crosses
 * the rules a care team relies on. `every` and `length` count the device's readings.
 */
export interface Episode {
  readonly kind: 'hypoglycaemia' | 'desaturation' | 'hypertensive_crisis' | 'fever';
  readonly every: number;
  readonly length: number;
}

/** The reading as it is during step `step` (0-based) of an episode. */
export function duringEpisode(reading: WireReadingInput, episode: Episode, step: number): WireReadingInput {
  switch (episode.kind) {
    case 'hypoglycaemia':
      // A CGM falling about 2.5 mg/dL/min from 110 into level 2 hypoglycaemia.
      return reading.type === 'glucose' ? { ...reading, value: Math.max(45, 110 - 12 * step), unit: 'mg/dL', trendRate: -2.5 } : reading;
    case 'desaturation':
      return reading.type === 'spo2' ? { ...reading, value: 85 + (step % 2) } : reading;
    case 'hypertensive_crisis':
      return reading.type === 'blood_pressure' ? { ...reading, systolic: 186 + step, diastolic: 118 } : reading;
    case 'fever':
      return reading.type === 'temperature' ? { ...reading, value: 38.6, unit: 'Cel' } : reading;
  }
}

/** The episode step of the n-th reading (1-based), or undefined outside an episode. */
export function episodeStep(episode: Episode | undefined, n: number): number | undefined {
  if (!episode) return undefined;
  const position = (n - 1) % episode.every;
  const start = episode.every - episode.length;
  return position >= start ? position - start : undefined;
}
