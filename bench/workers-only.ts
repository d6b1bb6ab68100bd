/** `npm run bench:workers`: only the worker-mode table (npm run bench runs it with the rest). */
import { benchPayload } from './payload.js';
import { benchWorkers, workersTable } from './workers.js';

const rows = await benchWorkers({
  messages: Number(process.env.BENCH_MESSAGES ?? 40_000),
  devices: Number(process.env.BENCH_WORKER_DEVICES ?? 10),
  window: Number(process.env.BENCH_WINDOW ?? 20),
  workerCounts: (process.env.BENCH_WORKERS ?? '1,2,3').split(',').map(Number),
  payload: benchPayload,
});
process.stdout.write(`${workersTable(rows)}\n`);
process.exit(0);
