import type { Command } from 'commander';
import { openState } from '../../app/state.js';
import { READING_TYPES, VigilError, type ReadingType } from '../../domain/index.js';
import { DeadLetters, InfluxStore, SqliteStore, type ReadingStore } from '../../ingest/index.js';
import { ARG, examples } from '../args.js';
import { action, isoOrDash, parseDuration, printTable } from '../run.js';
import { DATA_DIR_HELP, stateConfig } from '../state-config.js';
import { cliActor } from '../cli-actor.js';
import { AuditLog } from '../../state/index.js';
import { shipAuditAndClose } from '../ship-audit.js';

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** `vigil readings`, `vigil dead-letters`: what an operator looks at to check the pipeline (rejections: rejections.ts). */
export function registerInspect(program: Command): void {
  examples(program.command('readings'), 'vigil readings --patient p-1a2b3c4d5e6f --type blood_pressure --since 7d', 'vigil readings --patient p-1a2b3c4d5e6f --type weight --since 30d --bucket 1d --json')
    .description('show a patient\'s stored readings of one type (raw, or aggregated with --bucket)')
    .requiredOption('--patient <id>', 'patient id', ARG.patientId)
    .requiredOption('--type <type>', `reading type: ${READING_TYPES.join(', ')}`, ARG.readingType)
    .option('--since <duration>', 'how far back, e.g. 90m, 24h, 7d', ARG.duration, '24h')
    .option('--bucket <duration>', 'aggregate into buckets of this width (mean, min, max, count)', ARG.duration)
    .option('--limit <n>', 'at most this many raw readings', ARG.count, 100)
    .option('--json', 'print JSON')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (opts: { patient: string; type: ReadingType; since: string; bucket?: string; limit: number; json?: boolean; dataDir?: string }) => {
        const config = stateConfig(opts.dataDir);
        // A patient that does not exist has no readings: say so, rather than an empty table that reads as "none yet".
        const { db, registry } = openState(config.dataDir);
        try {
          if (!registry.getPatient(opts.patient)) throw new VigilError('VIGIL_ERR_NOT_FOUND', `patient ${opts.patient} does not exist (see vigil patients list)`);
          new AuditLog(db).record(cliActor(), 'patient.readings.view', opts.patient, opts.type, { since: opts.since, bucket: opts.bucket ?? null });
        } finally {
          await shipAuditAndClose(db, config.databaseUrl);
        }
        const store: ReadingStore = config.influx ? await InfluxStore.open(config.influx) : new SqliteStore(config.dataDir);
        try {
          const to = Date.now() + 1;
          const query = { patientId: opts.patient, type: opts.type, from: to - parseDuration(opts.since), to };
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
            const points = await store.queryRaw({ ...query, limit: opts.limit });
            if (opts.json) return void process.stdout.write(`${JSON.stringify(points)}\n`);
            printTable(points.map((p) => ({ time: isoOrDash(p.time), device: p.deviceId, ...p.fields, ...p.tags })));
          }
        } finally {
          await store.close();
        }
      }),
    );

  const dead = examples(program.command('dead-letters').description('readings the reading store refused (4xx), kept for replay'), 'vigil dead-letters list', 'vigil dead-letters replay');
  examples(dead.command('list'), 'vigil dead-letters list', 'vigil dead-letters list --json')
    .description('list dead letters waiting for an operator')
    .option('--json', 'print JSON')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (opts: { json?: boolean; dataDir?: string }) => {
        const { db } = openState(stateConfig(opts.dataDir).dataDir);
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
  examples(dead.command('replay'), 'vigil dead-letters replay 4 5', 'vigil dead-letters replay   # every dead letter')
    .description('ask the running server to write dead letters to the store again (all when no id is given)')
    .argument('[ids...]', 'dead letter ids (see vigil dead-letters list)', ARG.deadLetterIds)
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (ids: number[] | undefined, opts: { dataDir?: string }) => {
        const { db } = openState(stateConfig(opts.dataDir).dataDir);
        try {
          const count = new DeadLetters(db).requestReplay(ids?.length ? ids : undefined);
          process.stdout.write(`${count} dead letters queued for replay; the server retries them within seconds\n`);
        } finally {
          db.close();
        }
      }),
    );
}
