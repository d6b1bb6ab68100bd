import type { WireReadingInput } from '../domain/index.js';

/**
 * Turns a good reading into one a broken device would send (a value no body can have), so that a fleet shows
 * what Vigil does with bad input: the reading is rejected with a reason on the device's errors topic.
 */
export function implausible(reading: WireReadingInput): WireReadingInput {
  switch (reading.type) {
    case 'blood_pressure':
      return { ...reading, systolic: reading.diastolic - 5 };
    case 'glucose':
      return { ...reading, value: 1500 };
    case 'steps':
      return { ...reading, count: 10_000_000 };
    case 'fall':
      return { ...reading, confidence: 7 };
    default:
      return { ...reading, value: -1 };
  }
}
