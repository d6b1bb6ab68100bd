/** `npm run bench:throughput`: only the side-by-side throughput rows (npm run bench runs them with the rest). */
import { benchThroughput, table } from './throughput.js';

process.stdout.write(`${table(await benchThroughput())}\n`);
process.exit(0);
