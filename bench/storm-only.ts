/** `npm run bench:storm`: only the alert storm (npm run bench runs it with the rest). */
import { STORM, storm, stormTable } from './storm.js';

process.stdout.write(`${stormTable(await storm(STORM))}\n`);
process.exit(0);
