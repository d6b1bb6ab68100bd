import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../app/config.js';
import { createLogger } from '../app/logger.js';
import { openState } from '../app/state.js';
import { startVigil, type Vigil } from '../app/vigil.js';
import { startMosquitto, type MosquittoInstance } from './support/mosquitto.js';
import { tempDir } from './support/temp.js';
import { logInto } from './support/log-lines.js';

const HOOK_SECRET = 'hook-secret-0123456789abcdef';
const WORKER = { username: 'vigil-worker', password: 'worker-password-1' };

/**
 * The HTTP hooks EMQX 5 and VerneMQ call, served by a Vigil worker, over real HTTP with the bodies those brokers
 * send: EMQX's as docs/deployment.md configures its authenticator and authoriser, VerneMQ's as its webhooks
 * plugin sends them (vernemq-hook header).
 */
describe('broker authentication and authorisation hooks (EMQX, VerneMQ)', () => {
  let broker: MosquittoInstance;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let vigil: Vigil;
  let base: string;
  const secrets = new Map<string, string>();
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    dir = await tempDir('vigil-hooks-');
    const { db, registry } = openState(dir.path);
    const patient = await registry.addPatient({ name: 'Hooks' });
    for (const id of ['cuff-1', 'cuff-2', 'gone-1', 'slow-1']) secrets.set(id, (await registry.addDevice({ patientId: patient.id, id })).secret);
    await registry.revokeDevice('gone-1');
    db.close();
    const log = logInto(lines);
    const config = loadConfig({
      VIGIL_BIND_HOST: '127.0.0.1',
      VIGIL_HTTP_PORT: '0',
      VIGIL_LOG_LEVEL: 'warn',
      VIGIL_DATA_DIR: dir.path,
      VIGIL_BROKER_URL: broker.url,
      VIGIL_BROKER_CLIENT_ID: 'hooks-worker-1',
      VIGIL_BROKER_USERNAME: WORKER.username,
      VIGIL_BROKER_PASSWORD: WORKER.password,
      VIGIL_BROKER_HOOK_SECRET: HOOK_SECRET,
      VIGIL_MQTT_DEVICE_AUTH_FAILURES_PER_MINUTE: '3',
    });
    vigil = await startVigil(config, createLogger(config.logLevel, log));
    base = `http://127.0.0.1:${vigil.httpPort}`;
  }, 60_000);

  afterAll(async () => {
    await vigil?.close(2_000);
    await broker?.stop();
    await dir?.remove();
  });

  async function post(path: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${HOOK_SECRET}` }) {
    const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown>, cacheControl: res.headers.get('cache-control') };
  }

  // EMQX renders every placeholder of the configured body template as a string.
  const emqxLogin = (username: string, password: string, clientid = username) => post('/broker-hooks/emqx/authenticate', { clientid, username, password, peerhost: '10.1.2.3' });
  const emqxCheck = (username: string, action: string, topic: string) =>
    post('/broker-hooks/emqx/authorize', { clientid: username, username, peerhost: '10.1.2.3', action, topic, qos: '1', retain: 'false' });
  const vernemq = (hook: string, body: unknown, query = `?token=${HOOK_SECRET}`) => post(`/broker-hooks/vernemq${query}`, body, { 'vernemq-hook': hook });

  it('EMQX authentication: a device with its secret and its own client id, and the worker, are allowed; never as superuser', async () => {
    expect(await emqxLogin('cuff-1', secrets.get('cuff-1')!)).toMatchObject({ status: 200, body: { result: 'allow', is_superuser: false } });
    expect((await emqxLogin('cuff-1', secrets.get('cuff-1')!, 'cuff-1.errors')).body.result).toBe('allow');
    expect((await emqxLogin(WORKER.username, WORKER.password, 'hooks-worker-2')).body.result).toBe('allow');
    expect((await emqxLogin('cuff-1', secrets.get('cuff-2')!)).body.result).toBe('deny');
    expect((await emqxLogin('cuff-1', secrets.get('cuff-1')!, 'cuff-2')).body).toEqual({ result: 'deny', is_superuser: false });
    expect((await emqxLogin('gone-1', secrets.get('gone-1')!)).body.result).toBe('deny');
    expect((await emqxLogin('nobody', 'x')).body.result).toBe('deny');
    expect((await emqxLogin(WORKER.username, 'wrong')).body.result).toBe('deny');
    expect((await post('/broker-hooks/emqx/authenticate', { clientid: 'cuff-1', username: 'cuff-1', password: '' })).body.result).toBe('deny');
  });

  it('EMQX authorisation: a device on its own topics only; the worker on its shared subscriptions and the errors topics', async () => {
    const allowed = async (user: string, action: string, topic: string) => (await emqxCheck(user, action, topic)).body.result;
    expect(await allowed('cuff-1', 'publish', 'rpm/v1/devices/cuff-1/readings')).toBe('allow');
    expect(await allowed('cuff-1', 'publish', 'rpm/v1/devices/cuff-1/status')).toBe('allow');
    expect(await allowed('cuff-1', 'subscribe', 'rpm/v1/devices/cuff-1/errors')).toBe('allow');
    expect(await allowed('cuff-1', 'publish', 'rpm/v1/devices/cuff-2/readings')).toBe('deny');
    expect(await allowed('cuff-1', 'publish', 'rpm/v1/devices/cuff-1/errors')).toBe('deny');
    expect(await allowed('cuff-1', 'subscribe', 'rpm/v1/devices/+/errors')).toBe('deny');
    expect(await allowed('cuff-1', 'subscribe', '$share/vigil/rpm/v1/devices/+/readings')).toBe('deny');
    expect(await allowed('gone-1', 'publish', 'rpm/v1/devices/gone-1/readings')).toBe('deny');
    expect(await allowed(WORKER.username, 'subscribe', '$share/vigil/rpm/v1/devices/+/readings')).toBe('allow');
    expect(await allowed(WORKER.username, 'subscribe', 'rpm/v1/devices/+/status')).toBe('allow');
    expect(await allowed(WORKER.username, 'subscribe', '$share/other/rpm/v1/devices/+/readings')).toBe('deny');
    expect(await allowed(WORKER.username, 'publish', 'rpm/v1/devices/cuff-2/errors')).toBe('allow');
    expect(await allowed(WORKER.username, 'publish', 'rpm/v1/devices/cuff-2/readings')).toBe('deny');
  });

  const throttledLogins = async () => {
    const metrics = await (await fetch(`${base}/metrics`)).text();
    return Number(/^vigil_broker_hook_requests_total\{hook="emqx_authenticate",result="throttled"\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
  };

  it('logs a refused login\'s username as the broker sent it cut to an id\'s length, with its full length', async () => {
    // EMQX passes on whatever username a CONNECT carries (up to its 1 MB packet): one no device can have, from a
    // peer that has used up its failures (10 a minute; such a username counts against its address only).
    const username = 'x'.repeat(100_000);
    const login = () => post('/broker-hooks/emqx/authenticate', { clientid: 'c', username, password: 'guess', peerhost: '10.9.9.9' });
    for (let i = 0; i < 10; i++) expect((await login()).body.result).toBe('deny');
    expect(lines.filter((l) => l.msg === 'broker login refused' && l.reason === 'throttled')).toEqual([]);
    expect((await login()).body.result).toBe('deny');
    const [line, ...more] = lines.filter((l) => l.msg === 'broker login refused' && l.reason === 'throttled');
    expect(more).toEqual([]);
    expect(JSON.stringify(line).length).toBeLessThan(1_000);
    expect(line).toMatchObject({ deviceId: `${'x'.repeat(64)}…`, deviceIdLength: 100_000, count: 1 });
  });

  it('a device that keeps failing is refused unchecked for a while, even with the right secret', async () => {
    const before = await throttledLogins();
    for (let i = 0; i < 3; i++) expect((await emqxLogin('slow-1', 'guess')).body.result).toBe('deny');
    expect((await emqxLogin('slow-1', secrets.get('slow-1')!)).body.result).toBe('deny');
    expect(await throttledLogins()).toBe(before + 1);
  });

  it('VerneMQ webhooks: register, publish (a grant may be cached) and subscribe (refused topics rewritten), MQTT 3.1.1 and 5', async () => {
    const register = { peer_addr: '10.1.2.4', peer_port: 52344, username: 'cuff-2', password: secrets.get('cuff-2'), mountpoint: '', client_id: 'cuff-2', clean_session: false };
    expect(await vernemq('auth_on_register', register)).toMatchObject({ status: 200, body: { result: 'ok' } });
    expect((await vernemq('auth_on_register_m5', { ...register, clean_start: true, properties: {}, password: 'nope' })).body).toEqual({ result: { error: 'not_allowed' } });

    const publish = { username: 'cuff-2', client_id: 'cuff-2', mountpoint: '', qos: 1, topic: 'rpm/v1/devices/cuff-2/readings', payload: 'e30=', retain: false };
    const granted = await vernemq('auth_on_publish', publish);
    expect(granted.body).toEqual({ result: 'ok' });
    expect(granted.cacheControl).toBe('max-age=30');
    const refused = await vernemq('auth_on_publish_m5', { ...publish, topic: 'rpm/v1/devices/cuff-1/readings', properties: {} });
    expect(refused.body).toEqual({ result: { error: 'not_allowed' } });
    expect(refused.cacheControl).toBeNull();

    const topics = [
      { topic: 'rpm/v1/devices/cuff-2/errors', qos: 1 },
      { topic: 'rpm/v1/devices/cuff-1/errors', qos: 1 },
    ];
    expect((await vernemq('auth_on_subscribe', { username: 'cuff-2', client_id: 'cuff-2', mountpoint: '', topics })).body).toEqual({
      result: 'ok',
      topics: [
        { topic: 'rpm/v1/devices/cuff-2/errors', qos: 1 },
        { topic: 'rpm/v1/devices/cuff-1/errors', qos: 128 },
      ],
    });
    expect((await vernemq('auth_on_subscribe_m5', { username: 'cuff-2', client_id: 'cuff-2', mountpoint: '', topics, properties: {} })).body).toEqual({
      result: 'ok',
      modifiers: { topics: [{ topic: 'rpm/v1/devices/cuff-2/errors', qos: 1 }, { topic: 'rpm/v1/devices/cuff-1/errors', qos: 135 }] },
    });
    expect((await vernemq('auth_on_subscribe', { username: 'cuff-2', client_id: 'cuff-2', mountpoint: '', topics: [topics[1]] })).body).toEqual({ result: { error: 'not_allowed' } });
    expect((await vernemq('on_deliver', { username: 'cuff-2' })).status).toBe(400);
  });

  it('answers only the broker: a call without the secret is refused with 401, recorded in the audit log, and throttled', async () => {
    const anonymous = await post('/broker-hooks/emqx/authenticate', { username: 'cuff-1', password: secrets.get('cuff-1') }, {});
    expect(anonymous).toMatchObject({ status: 401, body: { code: 'VIGIL_ERR_UNAUTHORIZED' } });
    expect((await vernemq('auth_on_register', { username: 'cuff-1', password: secrets.get('cuff-1') }, '?token=wrong')).status).toBe(401);
    expect(vigil.audit.list({}).filter((e) => e.action === 'broker_hook.unauthorized').length).toBeGreaterThanOrEqual(2);
    let last = 0;
    for (let i = 0; i < 12 && last !== 429; i++) last = (await post('/broker-hooks/emqx/authorize', { username: 'x', action: 'publish', topic: 't' }, { authorization: 'Bearer nope' })).status;
    expect(last).toBe(429);
  });
});
