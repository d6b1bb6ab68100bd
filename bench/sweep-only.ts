/** `npm run bench:sweep`: only the sweep at scale (npm run bench runs it with the rest). */
import { SWEEP, sweepAtScale, sweepTable } from './sweep.js';

const results = [await sweepAtScale({ ...SWEEP, patients: 0 }), await sweepAtScale(SWEEP)];
process.stdout.write(`${sweepTable(results)}\n`);
process.exit(0);
