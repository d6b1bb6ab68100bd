/** `npm run bench:reports`: only the reports measurement, printed (npm run bench runs it with the rest). */
import { benchReports, reportsTable } from './reports.js';

process.stdout.write(`${reportsTable(await benchReports())}\n`);
process.exit(0);
