/** `npm run bench:storm`: only the alert storm (npm run bench runs it with the rest). */
import { STORM, STORM_RECEIVER_DELAYS, storm, stormTable } from './storm.js';

for (const receiverDelayMs of STORM_RECEIVER_DELAYS) process.stdout.write(`${stormTable(await storm({ ...STORM, receiverDelayMs }))}\n\n`);
process.exit(0);
