import type { Command } from 'commander';
import { openState } from '../../app/state.js';
import { READING_TYPES, VigilError, type ReadingType } from '../../domain/index.js';
import { DeadLetters, InfluxStore, SqliteStore, type ReadingStore } from '../../ingest/index.js';
import { action, configFrom, isoOrDash, parseDuration, printTable } from '../run.js';

const DATA_DIR_HELP = 'data directory (default: $VIGIL_DATA_DIR or ./data)';

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** `vigil readings`, `vigil dead-letters`: what an operator looks at to check the pipeline (rejections: rejections.ts). */
export function registerInspect(program: Command): void {
  program
    .command('readings')
    .description('show a patient\'s stored readings of one type (raw, or aggregated with --bucket)')
    .requiredOption('--patient <id>', 'patient id')
    .requiredOption('--type <type>', `reading type: ${READING_TYPES.join(', ')}`)
    .option('--since <duration>', 'how far back, e.g. 90m, 24h, 7d', '24h')
    .option('--bucket <duration>', 'aggregate into buckets of this width (mean, min, max, count)')
    .option('--limit <n>', 'at most this many raw readings', '100')
    .option('--json', 'print JSON')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (opts: { patient: string; type: string; since: string; bucket?: string; limit: string; json?: boolean; dataDir?: string }) => {
        if (!(READING_TYPES as readonly string[]).includes(opts.type)) {
          throw new VigilError('VIGIL_ERR_CONFIG', `--type must be one of ${READING_TYPES.join(', ')}`);
        }
        const config = configFrom({ VIGIL_DATA_DIR: opts.dataDir });
        const store: ReadingStore = config.influx ? await InfluxStore.open(config.influx) : new SqliteStore(config.dataDir);
        try {
          const to = Date.now() + 1;
          const query = { patientId: opts.patient, type: opts.type as ReadingType, from: to - parseDuration(opts.since), to };
          if (opts.bucket) {
            const points = await store.queryAggregate({ ...query, bucketMs: parseDuration(opts.bucket) });
            if (opts.json) return void process.stdout.write(`${JSON.stringify(points)}\n`);
            printTable(
              points.map((p) => ({
                bucket: isoOrDash(p.time),
                ...Object.fromEntries(
                  Object.entries(p.fields).map(([f, a]) => [f, `${round(a.mean)} (${round(a.min)}-${round(a.max)}, n=${a.count})`]),
                ),
              })),
            );
          } else {
            const points = await store.queryRaw({ ...query, limit: Number(opts.limit) });
            if (opts.json) return void process.stdout.write(`${JSON.stringify(points)}\n`);
            printTable(points.map((p) => ({ time: isoOrDash(p.time), device: p.deviceId, ...p.fields, ...p.tags })));
          }
        } finally {
          await store.close();
        }
      }),
    );

  const dead = program.command('dead-letters').description('readings the reading store refused (4xx), kept for replay');
  dead
    .command('list')
    .description('list dead letters waiting for an operator')
    .option('--json', 'print JSON')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (opts: { json?: boolean; dataDir?: string }) => {
        const { db } = openState(configFrom({ VIGIL_DATA_DIR: opts.dataDir }).dataDir);
        try {
          const rows = new DeadLetters(db).list();
          if (opts.json) return void process.stdout.write(`${JSON.stringify(rows)}\n`);
          printTable(
            rows.map((d) => ({
              id: d.id,
              created: isoOrDash(d.createdAt),
              device: d.reading.deviceId,
              type: d.reading.type,
              status: d.status,
              replay: d.replayRequestedAt ? 'requested' : '-',
              error: d.error.slice(0, 80),
            })),
          );
        } finally {
          db.close();
        }
      }),
    );
  dead
    .command('replay [ids...]')
    .description('ask the running server to write dead letters to the store again (all when no id is given)')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (ids: string[], opts: { dataDir?: string }) => {
        const { db } = openState(configFrom({ VIGIL_DATA_DIR: opts.dataDir }).dataDir);
        try {
          const count = new DeadLetters(db).requestReplay(ids.length ? ids.map(Number) : undefined);
          process.stdout.write(`${count} dead letters queued for replay; the server retries them within seconds\n`);
        } finally {
          db.close();
        }
      }),
    );
}
