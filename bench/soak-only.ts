/** `npm run bench:soak`: only the soak (npm run bench runs it with the rest); writes the chart beside the docs. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { soak, soakChart, soakTable } from './soak.js';

const result = await soak({ readings: Number(process.env.BENCH_SOAK_READINGS ?? 1_000_000), devices: 10, window: Number(process.env.BENCH_WINDOW ?? 20) });
await writeFile(join(import.meta.dirname, '..', '..', 'docs', 'images', 'soak.svg'), soakChart(result));
process.stdout.write(`${soakTable(result)}\n`);
process.exit(0);
