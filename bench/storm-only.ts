/** `npm run bench:storm`: only the alert storm (npm run bench runs it with the rest). */
import { storms } from './storm.js';

process.stdout.write(`${await storms()}\n\n`);
process.exit(0);
