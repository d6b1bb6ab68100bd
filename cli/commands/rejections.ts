import type { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import { openState } from '../../app/state.js';
import { VigilError } from '../../domain/index.js';
import { RejectionLog, type RecordedRejection, type RejectionFilter } from '../../ingest/index.js';
import { AuditLog } from '../../state/index.js';
import { ARG, examples } from '../args.js';
import { action, isoOrDash, parseDuration, printTable, requireActor } from '../run.js';
import { DATA_DIR_HELP, stateConfig } from '../state-config.js';
import { shipAuditAndClose } from '../ship-audit.js';

interface FilterOptions {
  device?: string;
  code?: string;
  since?: string;
  until?: string;
}

/** "2h" (that long ago) or an RFC 3339 time, to epoch ms. */
function timeOf(option: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (/^\d+(\.\d+)?(ms|s|m|h|d)$/.test(text.trim())) return Date.now() - parseDuration(text);
  const at = Date.parse(text);
  if (!Number.isFinite(at)) throw new VigilError('VIGIL_ERR_CONFIG', `${option}: "${text}" is neither a duration like 2h nor an RFC 3339 time`);
  return at;
}

function filterOf(opts: FilterOptions, ids: readonly string[] = []): RejectionFilter {
  const numbers = ids.map((id) => {
    if (!/^\d+$/.test(id)) throw new VigilError('VIGIL_ERR_CONFIG', `"${id}" is not a rejection id (see vigil rejections)`);
    return Number(id);
  });
  return {
    ids: numbers.length > 0 ? numbers : undefined,
    deviceId: opts.device,
    code: opts.code,
    since: timeOf('--since', opts.since),
    until: timeOf('--until', opts.until),
  };
}

/** A device named on the command line must exist: an empty answer would read as "nothing was rejected". */
function requireDevice(registry: { getDevice(id: string): unknown }, deviceId: string | undefined): void {
  if (deviceId !== undefined && !registry.getDevice(deviceId)) throw new VigilError('VIGIL_ERR_NOT_FOUND', `device ${deviceId} does not exist (see vigil devices list)`);
}

function payloadOf(r: RecordedRejection): string {
  return r.payloadNote ? `not kept (${r.payloadNote.replace('_', ' ')})` : `${r.payloadBytes} B`;
}

function replayOf(r: RecordedRejection): string {
  if (r.replayedAt) {
    const x = r.replayResult;
    return x?.error ? `failed: ${x.error}` : `${x?.accepted ?? 0} accepted, ${x?.duplicates ?? 0} duplicate, ${x?.rejected ?? 0} rejected`;
  }
  return r.replayRequestedAt ? 'requested' : '-';
}

function row(r: RecordedRejection) {
  const codes = Object.entries(r.codes).map(([code, n]) => `${code}=${n}`).join(' ');
  return { id: r.id, time: isoOrDash(r.receivedAt), topic: r.topic, device: r.deviceId, rejected: r.rejected, codes, first: `${r.ref}: ${r.message}`.slice(0, 80), payload: payloadOf(r), replay: replayOf(r) };
}

/**
 * `vigil rejections`: rejected publishes (one row each, with counts per code), and `vigil rejections replay`:
 * ask the running server to submit kept payloads again through intake, once the cause is fixed.
 */
export function registerRejections(program: Command): void {
  const rejections = examples(program.command('rejections'), 'vigil rejections --code VIGIL_ERR_FUTURE_TIME --since 24h', 'vigil rejections --device cuff-7 --limit 10 --json')
    .description('show recently rejected publishes and why (one row per publish); see also "rejections replay"')
    .option('--device <id>', 'only this device', ARG.deviceId)
    .option('--code <code>', 'only publishes with a rejection of this code, e.g. VIGIL_ERR_FUTURE_TIME')
    .option('--since <when>', 'received since: a duration (2h, 7d) or an RFC 3339 time')
    .option('--until <when>', 'received before: a duration ago or an RFC 3339 time')
    .option('--limit <n>', 'how many', ARG.count, 50)
    .option('--json', 'print JSON')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    // The list's --device, --code, ... must not take the same options given to "replay" after it.
    .enablePositionalOptions()
    .action(
      action(async (opts: FilterOptions & { limit: number; json?: boolean; dataDir?: string }) => {
        const { db, registry } = openState(stateConfig(opts.dataDir).dataDir);
        try {
          requireDevice(registry, opts.device);
          const rows = new RejectionLog(db, { onLost: () => undefined }).recent({ ...filterOf(opts), limit: opts.limit });
          if (opts.json) return void process.stdout.write(`${JSON.stringify(rows)}\n`);
          printTable(rows.map(row));
        } finally {
          db.close();
        }
      }),
    );

  examples(
    rejections.command('replay [ids...]'),
    'vigil rejections replay --code VIGIL_ERR_FUTURE_TIME --since 24h --by "Ops on call" --wait 30s   # the server clock was slow; it is right again',
    'vigil rejections replay 41 42 --by "Ops on call"',
  )
    .description('ask the running server to submit the kept payloads of rejected publishes again (validated again; duplicates stored once)')
    .option('--device <id>', 'publishes of this device', ARG.deviceId)
    .option('--code <code>', 'publishes with a rejection of this code, e.g. VIGIL_ERR_FUTURE_TIME')
    .option('--since <when>', 'received since: a duration (2h, 7d) or an RFC 3339 time')
    .option('--until <when>', 'received before: a duration ago or an RFC 3339 time')
    .option('--all', 'every rejected publish with a kept payload (when no id or filter is given)')
    .requiredOption('--by <name>', 'who acts (recorded in the audit log)', ARG.actor)
    .option('--wait <duration>', 'wait this long for the server to replay them, and print the outcome', ARG.duration, '0s')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (ids: string[], opts: FilterOptions & { all?: boolean; by: string; wait: string; dataDir?: string }) => {
        const by = requireActor(opts.by);
        const filter = filterOf(opts, ids);
        const narrowed = Object.values(filter).some((v) => v !== undefined);
        if (narrowed === Boolean(opts.all)) throw new VigilError('VIGIL_ERR_CONFIG', 'give ids or a filter (--device, --code, --since, --until), or --all');
        const waitMs = parseDuration(opts.wait);
        const config = stateConfig(opts.dataDir);
        const { db, registry } = openState(config.dataDir);
        try {
          requireDevice(registry, opts.device);
          const log = new RejectionLog(db, { onLost: () => undefined });
          const requested = log.requestReplay(filter);
          new AuditLog(db).record(by, 'rejections.replay', null, ids.length > 0 ? `rejections:${ids.join(',')}` : 'filter', {
            filter,
            requested: requested.ids.length,
            withoutPayload: requested.skipped,
          });
          process.stdout.write(
            `${requested.ids.length} rejected publishes queued for replay; the running server submits them within seconds` +
              (requested.skipped > 0 ? ` (${requested.skipped} more matched but have no kept payload)` : '') +
              '\n',
          );
          if (waitMs <= 0 || requested.ids.length === 0) return;
          const deadline = Date.now() + waitMs;
          let rows = log.recent({ ids: requested.ids, limit: requested.ids.length });
          while (rows.some((r) => r.replayedAt === null) && Date.now() < deadline) {
            await sleep(250);
            rows = log.recent({ ids: requested.ids, limit: requested.ids.length });
          }
          printTable(rows.map(row));
          if (rows.some((r) => r.replayedAt === null)) {
            throw new VigilError('VIGIL_ERR_CONFLICT', 'not all were replayed in time: is the server running on this data directory?');
          }
        } finally {
          await shipAuditAndClose(db, config.databaseUrl);
        }
      }),
    );
}
