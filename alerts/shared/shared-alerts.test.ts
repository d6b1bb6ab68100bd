import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { openState, patientDirectory, shareStateAlerts, shareStateRegistry } from '../../app/state.js';
import { normaliseReading, wireReadingSchema, type Reading, type WireReadingInput } from '../../domain/index.js';
import { AuditLog } from '../../state/index.js';
import { postgresForFile } from '../../test/support/postgres.js';
import { tempDir, waitFor } from '../../test/support/temp.js';
import { startTcpProxy } from '../../test/support/tcp-proxy.js';
import { startWebhookReceiver } from '../../test/support/webhook-receiver.js';
import { cp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry as MetricsRegistry } from 'prom-client';
import { createAlerts, openAlertsCore, type AlertEvent } from '../index.js';
import { WebhookSender } from '../webhook.js';
import { WebhookLeadership } from './webhook-leader.js';
import { TEST_ALERT_TIMERS } from '../../test/support/alert-timers.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const quiet = { warn: () => undefined, info: () => undefined, error: () => undefined };
/** A failure here is a bug the test must see, not a retry to wait for. */
const loud = (err: Error) => process.stderr.write(`shared alerts error: ${err.stack ?? err.message}\n`);
const noHistory = async (): Promise<never> => {
  throw new Error('no reading history in this test');
};

/** A change reaches another instance's replica in milliseconds: 10 s is a failure, not slowness. */
const eventually = (check: () => unknown) => waitFor(check, { timeoutMs: 10_000 });

const postgres = postgresForFile('shared_alerts');

/** One Vigil instance's state and alerts on a shared PostgreSQL, on a clock the test moves. */
async function instance(url: string | undefined, clock: { now: number }, dataDir?: string, log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void; error(obj: object, msg: string): void } = quiet) {
  const dir = dataDir === undefined ? await tempDir() : { path: dataDir, remove: async () => undefined };
  const state = openState(dir.path);
  const registry = await shareStateRegistry(state, url, loud);
  const shared = await shareStateAlerts(state.db, url, { ...quiet, warn: (o: object) => loud((o as { err: Error }).err) });
  const audit = new AuditLog(state.db, () => clock.now);
  const alerts = openAlertsCore({
    db: state.db,
    audit,
    history: { queryRaw: noHistory, queryAggregate: noHistory },
    directory: patientDirectory(state.registry, () => new Map()),
    log,
    ...TEST_ALERT_TIMERS,
    lateAfterMinutes: 60,
    now: () => clock.now,
    shared,
  });
  const events: AlertEvent[] = [];
  alerts.feed.on('event', (e) => events.push(e));
  const read = (deviceId: string, patientId: string, wire: WireReadingInput): Reading => {
    const parsed = wireReadingSchema.parse({ ...wire, time: new Date(clock.now).toISOString() });
    const result = normaliseReading(parsed, { deviceId, patientId, receivedAt: clock.now, futureToleranceMs: 5 * MIN, maxAgeMs: 365 * 24 * HOUR, lateAfterMs: 15 * MIN });
    if (!result.ok) throw new Error(result.message);
    return result.reading;
  };
  return {
    state,
    audit,
    alerts,
    events,
    shared,
    /** Readings taken by this instance, evaluated as the server does once they are durable. */
    take(deviceId: string, patientId: string, ...wire: WireReadingInput[]) {
      this.alerts.evaluation.onCommitted(wire.map((w) => read(deviceId, patientId, w)));
    },
    async close() {
      await alerts.evaluation.close();
      await shared?.close();
      await registry?.close();
      state.db.close();
      await dir.remove();
    },
  };
}
type Instance = Awaited<ReturnType<typeof instance>>;

/** A single node, embedded, in `dataDir`: one patient whose crisis alert a nurse resolved. */
async function embeddedWithResolvedAlert(clock: { now: number }, dataDir: string) {
  const alone = await instance(undefined, clock, dataDir);
  const patient = await alone.state.registry.addPatient({ name: 'Ada', programmes: ['hypertension'] });
  const { device } = await alone.state.registry.addDevice({ patientId: patient.id });
  alone.take(device.id, patient.id, crisis);
  const [opened] = alone.alerts.queries.list({ status: 'live' });
  await alone.alerts.actions.resolve(opened!.id, 'user:nurse', 'seen');
  return { alone, patient, opened: opened! };
}

/** What a query finds in the shared database itself. */
async function sharedRows(url: string, sql: string, params: unknown[]): Promise<unknown[]> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** A TCP proxy in front of the test's PostgreSQL, and the database URL through it (to black-hole or silence). */
async function proxied(url: string) {
  const proxy = await startTcpProxy(Number(new URL(url).port));
  const through = new URL(url);
  through.port = String(proxy.port);
  return { proxy, throughProxy: through.toString() };
}

const crisis: WireReadingInput = { type: 'blood_pressure', systolic: 210, diastolic: 125, unit: 'mmHg' } as WireReadingInput;

describe('alerts shared in PostgreSQL', () => {
  const open: Instance[] = [];
  const two = async (clock: { now: number }) => {
    const url = await postgres.database();
    const a = await instance(url, clock);
    const b = await instance(url, clock);
    open.push(a, b);
    return { url, a, b };
  };
  afterEach(async () => {
    for (const i of open.splice(0)) await i.close();
  });

  async function patientOn(a: Instance, b: Instance) {
    const patient = await a.state.registry.addPatient({ name: 'Ada', programmes: ['hypertension'] });
    const { device } = await a.state.registry.addDevice({ patientId: patient.id });
    await eventually(() => b.state.registry.getDevice(device.id));
    return { patientId: patient.id, deviceId: device.id };
  }

  /** A crisis of a new patient, taken by instance a, once instance b shows its alert. */
  async function crisisOnA(a: Instance, b: Instance) {
    const p = await patientOn(a, b);
    a.take(p.deviceId, p.patientId, crisis);
    await a.alerts.evaluation.settled();
    await eventually(() => b.alerts.queries.list({ status: 'live' }).length === 1);
    return p;
  }

  it('opens one alert when two workers take the same patient\'s critical readings at once', async () => {
    const clock = { now: Date.now() };
    const { url, a, b } = await two(clock);
    const p = await patientOn(a, b);
    // Both workers take a crisis at once: one opens the alert under the write lock, the other then repeats it.
    a.take(p.deviceId, p.patientId, crisis);
    b.take(p.deviceId, p.patientId, crisis);
    await Promise.all([a.alerts.evaluation.settled(), b.alerts.evaluation.settled()]);

    const client = new pg.Client(url);
    await client.connect();
    try {
      const { rows } = await client.query("SELECT id, count FROM alerts WHERE patient_id = $1 AND rule_id = 'bp.crisis'", [p.patientId]);
      expect(rows).toHaveLength(1);
      expect(rows[0].count).toBe(2);
      const opened = await client.query("SELECT count(*)::int AS n FROM alert_events WHERE type = 'alert.opened'");
      expect(opened.rows[0].n).toBe(1);
    } finally {
      await client.end();
    }
    // Each replica shows that one alert, and each feed emitted its opening once, with PostgreSQL's number.
    await eventually(() => a.alerts.queries.list({ status: 'live' })[0]?.count === 2 && b.alerts.queries.list({ status: 'live' })[0]?.count === 2);
    const [onA] = a.alerts.queries.list({ status: 'live' });
    expect(b.alerts.queries.list({ status: 'live' })).toEqual([onA]);
    const openedSeqs = (i: Instance) => i.events.filter((e) => e.type === 'alert.opened').map((e) => e.seq);
    expect(openedSeqs(a)).toHaveLength(1);
    expect(openedSeqs(b)).toEqual(openedSeqs(a));
  });

  it('shows an acknowledgement made on one instance on the others, and escalates nothing acknowledged', async () => {
    const clock = { now: Date.now() };
    const { a, b } = await two(clock);
    await crisisOnA(a, b);
    const [alert] = b.alerts.queries.list({ status: 'live' });
    const acknowledged = await b.alerts.actions.acknowledge(alert!.id, { name: 'user:nurse', origin: '127.0.0.1' }, 'phoned her');
    expect(acknowledged).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'user:nurse' });
    expect(b.audit.list({ action: 'alert.acknowledged' })).toMatchObject([{ actor: 'user:nurse', target: `alert:${alert!.id}` }]);
    await eventually(() => a.alerts.queries.get(alert!.id)?.alert.status === 'acknowledged');
    // A second acknowledgement on the other instance is refused: the alert is no longer open.
    await expect(a.alerts.actions.acknowledge(alert!.id, 'user:other')).rejects.toMatchObject({ code: 'VIGIL_ERR_CONFLICT' });

    // Past the escalation time, both instances sweep: nothing acknowledged escalates, on either.
    clock.now += 30 * MIN;
    await Promise.all([a.alerts.evaluation.sweep(), b.alerts.evaluation.sweep()]);
    expect(a.alerts.queries.get(alert!.id)?.alert.escalationLevel).toBe(0);
    expect(a.events.map((e) => e.type)).toEqual(['alert.opened', 'alert.acknowledged']);
    expect(b.events.map((e) => e.seq)).toEqual(a.events.map((e) => e.seq));
  });

  it('escalates an open critical once, whichever instances sweep', async () => {
    const clock = { now: Date.now() };
    const { a, b } = await two(clock);
    await crisisOnA(a, b);
    clock.now += 20 * MIN;
    // Both find it due; under the write lock the second decides against the first's escalation: not due any more.
    await Promise.all([a.alerts.evaluation.sweep(), b.alerts.evaluation.sweep()]);
    await eventually(() => a.events.length === 2 && b.events.length === 2);
    expect(a.events.map((e) => e.type)).toEqual(['alert.opened', 'alert.escalated']);
    expect(b.alerts.queries.list({ status: 'live' })[0]?.escalationLevel).toBe(1);
  });

  it('sends each transition to the webhook once, from one instance at a time, and hands over when it stops', async () => {
    const received: { seq: number; type: string }[] = [];
    const receiver: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const { seq, type } = JSON.parse(body) as { seq: number; type: string };
        received.push({ seq, type });
        res.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const url = await postgres.database();
    const clock = { now: Date.now() };
    const served: { close(): Promise<void> }[] = [];
    const registries: MetricsRegistry[] = [];
    try {
      const server = async () => {
        const i = await instance(url, clock);
        open.push(i);
        const alerts = await createAlerts({
          db: i.state.db,
          audit: i.audit,
          history: { queryRaw: noHistory, queryAggregate: noHistory },
          directory: patientDirectory(i.state.registry, () => new Map()),
          metrics: registries[registries.push(new MetricsRegistry()) - 1]!,
          log: quiet,
          ...TEST_ALERT_TIMERS,
          lateAfterMinutes: 60,
          sweepCron: '0 0 0 1 1 *',
          webhook: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`, secret: 'a-webhook-secret-of-some-length' },
          now: () => clock.now,
          shared: i.shared,
        });
        served.push(alerts);
        return { ...i, server: alerts };
      };
      const a = await server();
      const b = await server();
      const p = await patientOn(a, b);
      a.take(p.deviceId, p.patientId, crisis);
      await a.alerts.evaluation.settled();
      await eventually(() => b.server.queries.list({ status: 'live' }).length === 1);
      const [alert] = b.server.queries.list({ status: 'live' });
      await b.server.actions.acknowledge(alert!.id, 'user:nurse');
      await eventually(() => received.length === 2);
      // Whichever instance holds the lock delivers; the other must not: nothing arrives twice.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(received.map((r) => r.type)).toEqual(['alert.opened', 'alert.acknowledged']);
      expect(new Set(received.map((r) => r.seq)).size).toBe(2);
      const delivering = async (r: MetricsRegistry) => (await r.getSingleMetric('vigil_alert_webhook_delivering')!.get()).values[0]!.value;
      expect((await delivering(registries[0]!)) + (await delivering(registries[1]!))).toBe(1);

      // An instance stops (the delivering one or not): the other delivers, from the shared cursor.
      const [first, second] = served;
      await first!.close();
      open.splice(open.findIndex((x) => x.state === a.state), 1);
      await a.close();
      await b.server.actions.resolve(alert!.id, 'user:nurse', 'seen');
      await eventually(() => received.length === 3);
      expect(received[2]!.type).toBe('alert.resolved');
      await second!.close();
    } finally {
      receiver.close();
    }
  }, 30_000);

  it('counts no gap on one worker that another worker\'s readings fill', async () => {
    const clock = { now: Date.now() };
    const { a, b } = await two(clock);
    const p = await patientOn(a, b);
    // Every reading of the patient reaches worker a; b takes none of them.
    for (let day = 0; day < 4; day++) {
      a.take(p.deviceId, p.patientId, { type: 'blood_pressure', systolic: 128, diastolic: 82, unit: 'mmHg' } as WireReadingInput);
      await Promise.all([a.alerts.evaluation.sweep(), b.alerts.evaluation.sweep()]);
      clock.now += 24 * HOUR;
    }
    expect(b.alerts.queries.list({ patientId: p.patientId })).toEqual([]);
    expect(a.alerts.queries.list({ patientId: p.patientId })).toEqual([]);
    // Once nothing arrives anywhere for longer than the rule's 48 h, the gap is counted (once).
    clock.now += 49 * HOUR;
    await Promise.all([a.alerts.evaluation.sweep(), b.alerts.evaluation.sweep()]);
    await eventually(() => a.alerts.queries.list({ patientId: p.patientId, status: 'live' }).length === 1 && b.alerts.queries.list({ patientId: p.patientId, status: 'live' }).length === 1);
    expect(a.alerts.queries.list({ patientId: p.patientId })).toMatchObject([{ ruleId: 'missing.blood_pressure' }]);
  });

  it('adopts the alerts of a data dir moving to shared state, keeping their history', async () => {
    const clock = { now: Date.now() };
    const dir = await tempDir();
    try {
      // A single node, embedded: one alert opened and acknowledged, one resolved.
      const alone = await instance(undefined, clock, dir.path);
      const patient = await alone.state.registry.addPatient({ name: 'Ada', programmes: ['hypertension'] });
      const { device } = await alone.state.registry.addDevice({ patientId: patient.id });
      alone.take(device.id, patient.id, crisis);
      const [opened] = alone.alerts.queries.list({ status: 'live' });
      await alone.alerts.actions.acknowledge(opened!.id, 'user:nurse');
      await alone.close();

      const url = await postgres.database();
      const moved = await instance(url, clock, dir.path);
      open.push(moved);
      const other = await instance(url, clock);
      open.push(other);
      for (const i of [moved, other]) {
        const [alert] = i.alerts.queries.list({ patientId: patient.id });
        expect(alert).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'user:nurse', ruleId: 'bp.crisis' });
        expect(i.alerts.queries.get(alert!.id)!.events.map((e) => e.type)).toEqual(['alert.opened', 'alert.acknowledged']);
      }
      // The adopted alert is the shared one from now on: a new crisis on the other instance repeats it.
      other.take(device.id, patient.id, crisis);
      await other.alerts.evaluation.settled();
      await eventually(() => moved.alerts.queries.list({ patientId: patient.id })[0]?.count === 2);
      expect(moved.alerts.queries.list({ patientId: patient.id })).toHaveLength(1);
    } finally {
      await dir.remove();
    }
  });

  it('writes a finding met during a PostgreSQL outage once the database is back', async () => {
    const clock = { now: Date.now() };
    const { a, b } = await two(clock);
    const p = await patientOn(a, b);
    await postgres.server().stop();
    try {
      a.take(p.deviceId, p.patientId, crisis);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(a.alerts.queries.list({ status: 'live' })).toEqual([]);
    } finally {
      await postgres.server().start();
    }
    await a.alerts.evaluation.settled();
    await eventually(() => b.alerts.queries.list({ status: 'live' }).length === 1);
    expect(b.alerts.queries.list({ status: 'live' })).toMatchObject([{ patientId: p.patientId, ruleId: 'bp.crisis', status: 'open' }]);
  }, 60_000);

  it('applies an override or a snooze set on one instance to every instance\'s evaluation', async () => {
    const clock = { now: Date.now() };
    const { a, b } = await two(clock);
    const p = await patientOn(a, b);
    // A post-stroke target set on a: from 170 systolic, a crisis for this patient, on b too.
    const tighter = { tiers: [{ severity: 'critical', match: 'any', conditions: [{ field: 'systolic', op: '>=', value: 170 }, { field: 'diastolic', op: '>', value: 110 }] }] };
    await a.alerts.actions.setOverride(p.patientId, 'bp.crisis', tighter, 'user:nurse', { reason: 'post-stroke target' });
    await eventually(() => b.alerts.queries.overridesOf(p.patientId).length === 1);
    b.take(p.deviceId, p.patientId, { type: 'blood_pressure', systolic: 172, diastolic: 90, unit: 'mmHg' } as WireReadingInput);
    await b.alerts.evaluation.settled();
    await eventually(() => a.alerts.queries.list({ status: 'live' }).some((x) => x.ruleId === 'bp.crisis'));
    expect(a.audit.list({ action: 'rule.override' })).toMatchObject([{ patientId: p.patientId, target: 'bp.crisis' }]);

    // A snooze set on b silences the warning tier on a; removed on a, it is gone on b.
    await b.alerts.actions.snooze(p.patientId, 'bp.hypotension', clock.now + 4 * HOUR, 'user:nurse', 'post-operative, reviewed');
    await eventually(() => a.alerts.queries.snoozesOf(p.patientId).length === 1);
    await a.alerts.actions.unsnooze(p.patientId, 'bp.hypotension', 'user:nurse');
    await eventually(() => b.alerts.queries.snoozesOf(p.patientId).length === 0);
    await b.alerts.actions.clearOverride(p.patientId, 'bp.crisis', 'user:nurse');
    await eventually(() => a.alerts.queries.overridesOf(p.patientId).length === 0);
  });

  it('removes an expired override only while it is the expired one: a newer override set meanwhile on another instance stays', async () => {
    const clock = { now: Date.now() };
    const { url, a, b } = await two(clock);
    const p = await patientOn(a, b);
    const tighter = { tiers: [{ severity: 'critical', match: 'any', conditions: [{ field: 'systolic', op: '>=', value: 170 }, { field: 'diastolic', op: '>', value: 110 }] }] };
    await a.alerts.actions.setOverride(p.patientId, 'bp.crisis', tighter, 'user:nurse', { reason: 'post-stroke target, until further notice' });
    await eventually(() => b.alerts.queries.overridesOf(p.patientId).length === 1);
    // b's mirror has not yet heard of it and still holds the override it replaced, which expired an hour ago.
    b.state.db.prepare('UPDATE rule_overrides SET expires_at = ? WHERE patient_id = ?').run(clock.now - HOUR, p.patientId);
    await b.alerts.evaluation.sweep();

    expect(await sharedRows(url, 'SELECT expires_at FROM rule_overrides WHERE patient_id = $1', [p.patientId])).toEqual([{ expires_at: null }]);
    expect(b.audit.list({ action: 'rule.override_expired' })).toEqual([]);
    // b's mirror reads the override as it is again.
    expect(b.alerts.queries.overridesOf(p.patientId)).toMatchObject([{ ruleId: 'bp.crisis', expiresAt: null }]);
  });

  it('adopts a data dir once, even if it stopped between the copy and making itself a replica', async () => {
    const clock = { now: Date.now() };
    const dir = await tempDir();
    const copy = await tempDir();
    try {
      const { alone, patient } = await embeddedWithResolvedAlert(clock, dir.path);
      await alone.close();
      // The data dir as it is on disk before the move: what a crash after PostgreSQL's commit leaves behind.
      await cp(dir.path, copy.path, { recursive: true });

      const url = await postgres.database();
      const moved = await instance(url, clock, dir.path);
      await moved.close();
      const restarted = await instance(url, clock, copy.path);
      open.push(restarted);
      expect(restarted.alerts.queries.list({ patientId: patient.id })).toHaveLength(1);
      expect(await sharedRows(url, 'SELECT count(*)::int AS n FROM alerts WHERE patient_id = $1', [patient.id])).toEqual([{ n: 1 }]);
    } finally {
      await dir.remove();
      await copy.remove();
    }
  });

  it('keeps a parked webhook delivery on its own event when a data dir is adopted, whose numbers change', async () => {
    const clock = { now: Date.now() };
    const url = await postgres.database();
    // The shared alerts have history already: PostgreSQL's numbers differ from the data dir's.
    const other = await instance(url, clock);
    open.push(other);
    const someone = await other.state.registry.addPatient({ name: 'Bo', programmes: ['hypertension'] });
    const { device: theirs } = await other.state.registry.addDevice({ patientId: someone.id });
    other.take(theirs.id, someone.id, crisis);
    await other.alerts.evaluation.settled();

    const dir = await tempDir();
    try {
      const { alone, patient, opened } = await embeddedWithResolvedAlert(clock, dir.path);
      // The receiver refused the resolution: parked, for a person to look at and replay.
      const resolved = alone.alerts.queries.get(opened.id)!.events.find((e) => e.type === 'alert.resolved')!;
      alone.alerts.parking.park(resolved.seq, 400, 'receiver answered 400', 5, clock.now);
      await alone.close();

      const moved = await instance(url, clock, dir.path);
      open.push(moved);
      const [parked] = moved.alerts.parking.list();
      const [alert] = moved.alerts.queries.list({ patientId: patient.id });
      const event = moved.alerts.queries.get(alert!.id)!.events.find((e) => e.seq === parked!.seq);
      expect(event).toMatchObject({ type: 'alert.resolved', alert: { patientId: patient.id } });
    } finally {
      await dir.remove();
    }
  });

  it('hands webhook delivery over when the delivering instance\'s connection goes silent (its session lives on in PostgreSQL)', async () => {
    const url = await postgres.database();
    const { proxy, throughProxy } = await proxied(url);
    const a = new WebhookLeadership(throughProxy);
    const b = new WebhookLeadership(url);
    try {
      expect(await a.delivering()).toBe(true);
      expect(await b.delivering()).toBe(false);
      // A NAT forgets the flow: no FIN, no RST; PostgreSQL keeps a's session, and with it the lock.
      proxy.silence();
      let handedOver = false;
      for (let round = 0; round < 6 && !handedOver; round++) {
        const [onA, onB] = [await a.delivering(), await b.delivering()];
        expect(onA && onB).toBe(false);
        handedOver = onA || onB;
      }
      expect(handedOver).toBe(true);
    } finally {
      await a.close();
      await b.close();
      await proxy.close();
    }
  }, 60_000);

  /**
   * Instances' webhook senders as createAlerts makes them, each on a leadership (the PostgreSQL lock) of its own
   * that the test can end or replace, and their receiver.
   */
  async function webhookSenders(url: string) {
    const secret = 'a-webhook-secret-of-some-length';
    const receiver = await startWebhookReceiver(secret);
    const leaderships: WebhookLeadership[] = [];
    const senders: WebhookSender[] = [];
    return {
      receiver,
      leaderships,
      start(i: Instance): WebhookSender {
        const k = leaderships.push(new WebhookLeadership(url)) - 1;
        const { events, cursor } = i.shared!.webhook(i.alerts.table);
        const sender = new WebhookSender({
          url: receiver.url,
          secrets: [secret],
          table: events,
          cursor,
          delivering: () => leaderships[k]!.delivering(),
          parking: i.alerts.parking,
          log: quiet,
          maxBackoffMs: 200,
          timeoutMs: 5_000,
        });
        senders.push(sender);
        sender.start();
        return sender;
      },
      async close() {
        receiver.setHanging(false);
        for (const sender of senders) await sender.stop();
        for (const leadership of leaderships) await leadership.close();
        await receiver.close();
      },
    };
  }

  /** The shared webhook position, once an instance has set it. */
  const sharedCursor = async (url: string) => ((await sharedRows(url, 'SELECT seq::int AS seq FROM webhook_cursor WHERE id = 1', [])) as { seq: number }[])[0]?.seq;

  it('counts the webhook\'s pending deliveries on the delivering instance only: one that lost the lead counts none', async () => {
    const clock = { now: Date.now() };
    const { url, a, b } = await two(clock);
    const webhook = await webhookSenders(url);
    const { receiver, leaderships } = webhook;
    try {
      const onA = webhook.start(a);
      // a leads, and has set the shared position (to the end of the log) before anything happens.
      await eventually(async () => onA.delivering && (await sharedCursor(url)) !== undefined);
      const onB = webhook.start(b);
      await crisisOnA(a, b);
      await eventually(() => receiver.received.length === 1 && onA.pending() === 0);
      expect([onB.delivering, onB.pending()]).toEqual([false, 0]);

      // a loses the lead (its lock's session ends) and b takes it at its next look.
      await leaderships[0]!.close();
      onA.nudge();
      onB.nudge();
      await eventually(() => !onA.delivering && onB.delivering);

      // The receiver is down: the acknowledgement waits. b, delivering, counts it; a, whose position is where it
      // stopped, counts nothing, or the sum over the instances would count it twice.
      receiver.setFailing(true);
      const [alert] = b.alerts.queries.list({ status: 'live' });
      await b.alerts.actions.acknowledge(alert!.id, 'user:nurse');
      await eventually(() => a.alerts.queries.get(alert!.id)?.alert.status === 'acknowledged');
      await eventually(() => receiver.refusedCount() > 0 && onB.pending() === 1);
      expect(onA.pending()).toBe(0);

      receiver.setFailing(false);
      await eventually(() => receiver.received.length === 2 && onB.pending() === 0);
      expect(receiver.received.map((r) => r.type)).toEqual(['alert.opened', 'alert.acknowledged']);
      expect(onA.pending()).toBe(0);
    } finally {
      await webhook.close();
    }
  }, 30_000);

  it('counts the webhook\'s pending deliveries from the shared position when an instance takes the lead back, even while it sends replays', async () => {
    const clock = { now: Date.now() };
    const { url, a, b } = await two(clock);
    const webhook = await webhookSenders(url);
    const { receiver, leaderships } = webhook;
    try {
      const onA = webhook.start(a);
      await eventually(async () => onA.delivering && (await sharedCursor(url)) !== undefined);
      const onB = webhook.start(b);
      await crisisOnA(a, b);
      await eventually(() => receiver.received.length === 1);
      // b takes over and delivers the acknowledgement: the shared position is past it, a's own is before it.
      await leaderships[0]!.close();
      onB.nudge();
      await eventually(() => onB.delivering);
      const [alert] = b.alerts.queries.list({ status: 'live' });
      await b.alerts.actions.acknowledge(alert!.id, 'user:nurse');
      await eventually(async () => receiver.received.length === 2 && (await sharedCursor(url)) === receiver.received[1]!.seq);
      await eventually(() => a.alerts.queries.get(alert!.id)?.alert.status === 'acknowledged');

      // a has a replay to send first, to a receiver that now holds every request for 5 s.
      a.alerts.parking.park(receiver.received[0]!.seq, 400, 'receiver answered 400', 5, clock.now);
      a.alerts.parking.requestReplay();
      receiver.setHanging(true);
      // a takes the lead back: nothing waits, and a counts nothing while its replay is under way.
      await leaderships[1]!.close();
      leaderships[0] = new WebhookLeadership(url);
      onA.nudge();
      await eventually(() => onA.delivering);
      expect(onA.pending()).toBe(0);
      await eventually(() => !onB.delivering);
      expect(onB.pending()).toBe(0);
    } finally {
      await webhook.close();
    }
  }, 30_000);

  it('stops without trying each waiting finding against a PostgreSQL that does not answer', async () => {
    const url = await postgres.database();
    const { proxy, throughProxy } = await proxied(url);
    const clock = { now: Date.now() };
    const errors: string[] = [];
    const a = await instance(throughProxy, clock, undefined, { ...quiet, error: (_: object, msg: string) => void errors.push(msg) });
    const patients = [];
    for (const name of ['Ada', 'Bo', 'Cy']) {
      const patient = await a.state.registry.addPatient({ name, programmes: ['hypertension'] });
      const { device } = await a.state.registry.addDevice({ patientId: patient.id });
      patients.push({ patientId: patient.id, deviceId: device.id });
    }
    try {
      // The database's host is gone: connections open and new ones get no answer, not even a refusal.
      proxy.blackhole();
      for (const p of patients) a.take(p.deviceId, p.patientId, crisis);
      expect(a.alerts.evaluation.waiting()).toBe(3);
      await a.alerts.evaluation.close();
      // The one in flight meets the outage; the two behind it are not each tried again at close (each would wait
      // out the connection timeout): they are given up together, and said so.
      expect(errors.filter((m) => m === 'an alert transition could not be written to the shared database')).toHaveLength(1);
      expect(errors.filter((m) => m.includes('given up'))).toHaveLength(1);
    } finally {
      await proxy.close();
      await a.close();
    }
  }, 120_000);

  it('writes, at the next start on the same data dir, a finding given up when the instance stopped during an outage', async () => {
    const url = await postgres.database();
    const { proxy, throughProxy } = await proxied(url);
    const clock = { now: Date.now() };
    const dir = await tempDir();
    const b = await instance(url, clock);
    open.push(b);
    try {
      const a = await instance(throughProxy, clock, dir.path);
      const patients: { patientId: string; deviceId: string }[] = [];
      try {
        for (let i = 0; i < 2; i++) patients.push(await patientOn(a, b));
        // The database's host is gone; two crises are found (the first one's write meets the outage, the second
        // waits behind it), and the instance is stopped before the database answers again.
        proxy.blackhole();
        for (const p of patients) a.take(p.deviceId, p.patientId, crisis);
        await a.alerts.evaluation.close();
        expect(a.alerts.evaluation.findingsWaiting()).toBe(2);
      } finally {
        await proxy.close();
        await a.close();
      }
      expect(b.alerts.queries.list({ status: 'live' })).toEqual([]);

      // Started again on its data dir, the database answering: each crisis becomes the alert it always was.
      const again = await instance(url, clock, dir.path);
      open.push(again);
      expect(again.alerts.evaluation.findingsWaiting()).toBe(2);
      again.alerts.evaluation.resumeWaitingFindings();
      await again.alerts.evaluation.settled();
      await eventually(() => b.alerts.queries.list({ status: 'live' }).length === 2);
      for (const p of patients) {
        expect(b.alerts.queries.list({ patientId: p.patientId })).toMatchObject([{ ruleId: 'bp.crisis', severity: 'critical', status: 'open', count: 1 }]);
      }
      expect(again.alerts.evaluation.findingsWaiting()).toBe(0);
      // Once written they are not written again: a further start finds nothing waiting.
      again.alerts.evaluation.resumeWaitingFindings();
      await again.alerts.evaluation.settled();
      expect(b.alerts.queries.list({ status: 'live' }).map((x) => x.count)).toEqual([1, 1]);
    } finally {
      await dir.remove();
    }
  }, 120_000);

  it('audits an override set in PostgreSQL even if this instance cannot mirror it at once', async () => {
    const clock = { now: Date.now() };
    const { a, b } = await two(clock);
    const p = await patientOn(a, b);
    const tighter = { tiers: [{ severity: 'critical', match: 'any', conditions: [{ field: 'systolic', op: '>=', value: 170 }, { field: 'diastolic', op: '>', value: 110 }] }] };
    // Reading the patient's rows back into the mirror fails here for a moment; PostgreSQL answers.
    a.state.db.exec('ALTER TABLE alert_snoozes RENAME TO alert_snoozes_away');
    try {
      await a.alerts.actions.setOverride(p.patientId, 'bp.crisis', tighter, 'user:nurse', { reason: 'post-stroke target' });
    } finally {
      a.state.db.exec('ALTER TABLE alert_snoozes_away RENAME TO alert_snoozes');
    }
    expect(a.audit.list({ action: 'rule.override' })).toMatchObject([{ patientId: p.patientId, target: 'bp.crisis' }]);
    // The mirror reads it on its own once it can.
    await eventually(() => a.alerts.queries.overridesOf(p.patientId).length === 1);
    await eventually(() => b.alerts.queries.overridesOf(p.patientId).length === 1);
  });

  it('sends from the shared alerts what the data dir\'s webhook had not delivered when it moved, and not what it had', async () => {
    const clock = { now: Date.now() };
    const dir = await tempDir();
    try {
      const { alone, patient, opened } = await embeddedWithResolvedAlert(clock, dir.path);
      // The data dir's webhook delivered the opening, not the resolution (its receiver was down at the move).
      const [openedEvent, resolvedEvent] = alone.alerts.queries.get(opened.id)!.events;
      alone.state.db.prepare('INSERT INTO webhook_cursor (id, seq) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq').run(openedEvent!.seq);
      expect(resolvedEvent!.type).toBe('alert.resolved');
      await alone.close();

      const url = await postgres.database();
      const moved = await instance(url, clock, dir.path);
      open.push(moved);
      const rows = (await sharedRows(url, "SELECT e.type, e.adopted, e.seq::int AS seq FROM alert_events e JOIN alerts a ON a.id = e.alert_id WHERE a.patient_id = $1 AND NOT e.quiet ORDER BY e.seq", [patient.id])) as { type: string; adopted: boolean; seq: number }[];
      expect(rows.map((r) => [r.type, r.adopted])).toEqual([['alert.opened', true], ['alert.resolved', false]]);
      // The shared position starts before the copy, so the undelivered resolution is next to send.
      const [cursor] = (await sharedRows(url, 'SELECT seq::int AS seq FROM webhook_cursor WHERE id = 1', [])) as { seq: number }[];
      expect(cursor!.seq).toBeLessThan(rows[1]!.seq);
    } finally {
      await dir.remove();
    }
  });
});
