/** `npm run bench:idle`: only the idle-devices measurement, printed (npm run bench runs it with the rest). */
import { benchIdle, idleTable } from './idle.js';

process.stdout.write(`${idleTable(await benchIdle())}\n`);
process.exit(0);
