/** `npm run bench:dashboard`: only the dashboard measurement, printed (npm run bench runs it with the rest). */
import { benchDashboard, dashboardTable } from './dashboard.js';

const result = await benchDashboard(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium');
process.stdout.write(`${dashboardTable(result)}\n`);
process.exit(0);
