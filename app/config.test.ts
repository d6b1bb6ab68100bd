import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../test/support/temp.js';
import { loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has embedded defaults for everything', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ mqttPort: 1883, httpPort: 8080, topicPrefix: 'rpm/v1', influx: undefined, tls: undefined });
    expect(c.dataDir).toMatch(/\/data$/);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reads InfluxDB settings with a token for 2.x/3.x', () => {
    const c = loadConfig({ VIGIL_INFLUX_URL: 'http://influx:8086', VIGIL_INFLUX_DB: 'rpm', VIGIL_INFLUX_TOKEN: 't0k3n' });
    expect(c.influx).toMatchObject({ url: 'http://influx:8086', database: 'rpm', token: 't0k3n' });
  });

  it('takes the default time zone of new patients as an IANA zone, UTC unless set', () => {
    expect(loadConfig({}).defaultTimeZone).toBe('UTC');
    expect(loadConfig({ VIGIL_DEFAULT_TIME_ZONE: 'europe/london' }).defaultTimeZone).toBe('Europe/London');
    expect(() => loadConfig({ VIGIL_DEFAULT_TIME_ZONE: 'Mars/Olympus' })).toThrow(/VIGIL_DEFAULT_TIME_ZONE: "Mars\/Olympus" is not an IANA time zone/);
  });

  it('has MQTT availability limits, with defaults, and reads the WebSocket origins', () => {
    expect(loadConfig({}).mqtt).toEqual({
      maxConnections: 10_000,
      maxConnectionsPerAddress: 1_000,
      connectTimeoutMs: 5_000,
      maxSessionsPerDevice: 4,
      authFailuresPerMinutePerAddress: 10,
      authFailuresPerMinutePerDevice: 20,
      webSocketOrigins: [],
    });
    expect(loadConfig({ VIGIL_MQTT_WS_ORIGINS: '*' }).mqtt.webSocketOrigins).toBe('*');
    expect(loadConfig({ VIGIL_MQTT_WS_ORIGINS: 'https://hub.example.org,http://localhost:3000' }).mqtt.webSocketOrigins).toEqual([
      'https://hub.example.org',
      'http://localhost:3000',
    ]);
    expect(loadConfig({ VIGIL_MAX_SESSIONS_PER_DEVICE: '2', VIGIL_MQTT_MAX_CONNECTIONS: '50' }).mqtt).toMatchObject({ maxSessionsPerDevice: 2, maxConnections: 50 });
  });

  it.each([
    [{ VIGIL_MQTT_MAX_CONNECTIONS: '0' }, 'VIGIL_MQTT_MAX_CONNECTIONS'],
    [{ VIGIL_MQTT_MAX_CONNECTIONS_PER_ADDRESS: 'many' }, 'VIGIL_MQTT_MAX_CONNECTIONS_PER_ADDRESS'],
    [{ VIGIL_MQTT_CONNECT_TIMEOUT_MS: '100' }, 'VIGIL_MQTT_CONNECT_TIMEOUT_MS'],
    [{ VIGIL_MAX_SESSIONS_PER_DEVICE: '1000' }, 'VIGIL_MAX_SESSIONS_PER_DEVICE'],
    [{ VIGIL_MQTT_AUTH_FAILURES_PER_MINUTE: '-1' }, 'VIGIL_MQTT_AUTH_FAILURES_PER_MINUTE'],
    [{ VIGIL_MQTT_DEVICE_AUTH_FAILURES_PER_MINUTE: '1.5' }, 'VIGIL_MQTT_DEVICE_AUTH_FAILURES_PER_MINUTE'],
    [{ VIGIL_MQTT_WS_ORIGINS: 'evil.example, *' }, 'VIGIL_MQTT_WS_ORIGINS'],
    [{ VIGIL_DEFAULT_TIME_ZONE: '+01:00' }, 'VIGIL_DEFAULT_TIME_ZONE'],
    [{ VIGIL_MQTT_PORT: '70000' }, 'VIGIL_MQTT_PORT'],
    [{ VIGIL_HTTP_PORT: 'http' }, 'VIGIL_HTTP_PORT'],
    [{ VIGIL_INFLUX_URL: 'not a url' }, 'VIGIL_INFLUX_URL'],
    [{ VIGIL_TLS_CERT: '/x/cert.pem' }, 'VIGIL_TLS_KEY'],
    [{ VIGIL_TOPIC_PREFIX: 'rpm/#' }, 'VIGIL_TOPIC_PREFIX'],
    [{ VIGIL_LOG_LEVEL: 'loud' }, 'VIGIL_LOG_LEVEL'],
    [{ VIGIL_INFLUX_URL: 'http://x', VIGIL_INFLUX_TOKEN: 'a', VIGIL_INFLUX_USER: 'u' }, 'VIGIL_INFLUX_TOKEN'],
    [{ VIGIL_TLS_CERT: '/nonexistent/cert.pem', VIGIL_TLS_KEY: '/nonexistent/key.pem' }, 'VIGIL_TLS_CERT'],
  ])('names the bad variable in %j', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(new RegExp(variable));
  });

  it('bounds VIGIL_TOPIC_PREFIX to 128 characters of topic levels, so that every topic Vigil builds stays under 256 bytes', () => {
    const longest = Array.from({ length: 32 }, () => 'abc').join('/').padEnd(128, 'x');
    expect(longest).toHaveLength(128);
    expect(loadConfig({ VIGIL_TOPIC_PREFIX: longest }).topicPrefix).toBe(longest);
    expect(() => loadConfig({ VIGIL_TOPIC_PREFIX: `${longest}x` })).toThrow(/VIGIL_TOPIC_PREFIX: must be at most 128 characters/);
    // As long as a topic may be (65,535 bytes): refused at start-up, not by the first broker that cannot route it.
    expect(() => loadConfig({ VIGIL_TOPIC_PREFIX: 'a'.repeat(65_535) })).toThrow(/VIGIL_TOPIC_PREFIX: must be at most 128 characters/);
    // The message shows enough of the value to recognise it, not 64 KB of it.
    const message = (() => {
      try {
        loadConfig({ VIGIL_TOPIC_PREFIX: 'a'.repeat(65_535) });
      } catch (err) {
        return (err as Error).message;
      }
    })();
    expect(message).toMatch(/\(got "a{200}"\.\.\., 65535 characters\)/);
    expect(message!.length).toBeLessThan(500);
    expect(() => loadConfig({ VIGIL_TOPIC_PREFIX: 'rpm//v1' })).toThrow(/VIGIL_TOPIC_PREFIX: must be topic levels/);
    expect(() => loadConfig({ VIGIL_TOPIC_PREFIX: '$SYS/rpm' })).toThrow(/VIGIL_TOPIC_PREFIX: must be topic levels/);
  });

  it('sends up to 8 webhook deliveries at once unless told otherwise, and refuses a concurrency outside 1-64', () => {
    const webhook = { VIGIL_ALERT_WEBHOOK_URL: 'https://pager.example/hook', VIGIL_ALERT_WEBHOOK_SECRET: 'a-webhook-secret-0123456789' };
    expect(loadConfig(webhook).alerts.webhook?.concurrency).toBe(8);
    expect(loadConfig({ ...webhook, VIGIL_ALERT_WEBHOOK_CONCURRENCY: '1' }).alerts.webhook?.concurrency).toBe(1);
    expect(() => loadConfig({ ...webhook, VIGIL_ALERT_WEBHOOK_CONCURRENCY: '0' })).toThrow(/VIGIL_ALERT_WEBHOOK_CONCURRENCY/);
    expect(() => loadConfig({ ...webhook, VIGIL_ALERT_WEBHOOK_CONCURRENCY: '65' })).toThrow(/VIGIL_ALERT_WEBHOOK_CONCURRENCY/);
  });

  it('trusts X-Forwarded-For only from named proxies, never from any client', () => {
    expect(loadConfig({}).dashboard.trustProxy).toBe(false);
    expect(loadConfig({ VIGIL_TRUST_PROXY: '10.0.0.5, 10.1.0.0/16' }).dashboard.trustProxy).toEqual(['10.0.0.5', '10.1.0.0/16']);
    expect(() => loadConfig({ VIGIL_TRUST_PROXY: 'true' })).toThrow(/VIGIL_TRUST_PROXY.*proxies' addresses/);
    expect(() => loadConfig({ VIGIL_TRUST_PROXY: '2' })).toThrow(/VIGIL_TRUST_PROXY/);
    expect(() => loadConfig({ VIGIL_TRUST_PROXY: 'proxy.local' })).toThrow(/"proxy.local" is not an IP address/);
  });

  it('never echoes a secret value in its message', () => {
    expect(() => loadConfig({ VIGIL_INFLUX_URL: 'http://x', VIGIL_INFLUX_TOKEN: 'supersecret', VIGIL_INFLUX_USER: 'u' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('supersecret') }),
    );
  });

  it('takes the build commit that vigil_build_info shows, as a git hash', () => {
    expect(loadConfig({}).buildCommit).toBeUndefined();
    expect(loadConfig({ VIGIL_BUILD_COMMIT: '7cc30e6' }).buildCommit).toBe('7cc30e6');
    expect(() => loadConfig({ VIGIL_BUILD_COMMIT: 'v1.2; rm -rf' })).toThrow(/VIGIL_BUILD_COMMIT: must be a git commit hash/);
  });

  it('reads a secret variable VIGIL_X from the file named by VIGIL_X_FILE (Docker and Kubernetes secrets)', async () => {
    const dir = await tempDir('vigil-secrets-');
    try {
      const file = (name: string, content: string) => writeFile(join(dir.path, name), content).then(() => join(dir.path, name));
      const token = await file('admin_token', 'a'.repeat(32) + '\n');
      const password = await file('influx_password', 'p@ss word\n');
      const c = loadConfig({ VIGIL_ADMIN_TOKEN_FILE: token, VIGIL_INFLUX_URL: 'http://influxdb:8086', VIGIL_INFLUX_USER: 'vigil', VIGIL_INFLUX_PASSWORD_FILE: password });
      expect(c.adminToken).toBe('a'.repeat(32));
      expect(c.influx?.password).toBe('p@ss word');
      // The file's content is validated like the variable itself, and never echoed.
      const short = await file('short_token', 'tooshort-secret\n');
      expect(() => loadConfig({ VIGIL_ADMIN_TOKEN_FILE: short })).toThrow(/VIGIL_ADMIN_TOKEN: must be at least 24 characters/);
      expect(() => loadConfig({ VIGIL_ADMIN_TOKEN_FILE: short })).toThrow(expect.objectContaining({ message: expect.not.stringContaining('tooshort') }));
      expect(() => loadConfig({ VIGIL_ADMIN_TOKEN_FILE: join(dir.path, 'missing') })).toThrow(/VIGIL_ADMIN_TOKEN_FILE: cannot read .*missing: ENOENT/);
      const empty = await file('empty', '\n');
      expect(() => loadConfig({ VIGIL_ADMIN_TOKEN_FILE: empty })).toThrow(/VIGIL_ADMIN_TOKEN_FILE: .* is empty/);
      expect(() => loadConfig({ VIGIL_ADMIN_TOKEN_FILE: token, VIGIL_ADMIN_TOKEN: 'b'.repeat(32) })).toThrow(/set either VIGIL_ADMIN_TOKEN or VIGIL_ADMIN_TOKEN_FILE, not both/);
      expect(() => loadConfig({ VIGIL_MQTT_PORT_FILE: token })).toThrow(/VIGIL_MQTT_PORT_FILE: only secret settings can be read from a file \(.*VIGIL_ALERT_WEBHOOK_SECRET/);
    } finally {
      await dir.remove();
    }
  });

  it('takes VIGIL_DATABASE_URL (or _FILE) for PostgreSQL, never echoing it, and refuses a TLS mode that does not verify', async () => {
    expect(loadConfig({}).databaseUrl).toBeUndefined();
    expect(loadConfig({ VIGIL_DATABASE_URL: 'postgres://vigil:pw@db:5432/vigil?sslmode=verify-full' }).databaseUrl).toBe('postgres://vigil:pw@db:5432/vigil?sslmode=verify-full');
    expect(() => loadConfig({ VIGIL_DATABASE_URL: 'mysql://vigil:hunter2@db/vigil' })).toThrow(/VIGIL_DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/);
    expect(() => loadConfig({ VIGIL_DATABASE_URL: 'mysql://vigil:hunter2@db/vigil' })).toThrow(expect.objectContaining({ message: expect.not.stringContaining('hunter2') }));
    expect(() => loadConfig({ VIGIL_DATABASE_URL: 'postgresql://vigil:pw@db/vigil?sslmode=no-verify' })).toThrow(/VIGIL_DATABASE_URL: sslmode must be verify-full, verify-ca, require or disable/);
    // Without sslmode node-postgres connects in clear: the choice must be written down.
    expect(() => loadConfig({ VIGIL_DATABASE_URL: 'postgresql://vigil:pw@db/vigil' })).toThrow(/VIGIL_DATABASE_URL: sslmode must be verify-full, verify-ca, require or disable/);
    // What the cluster compose file's secret holds (docs/deployment.md).
    expect(loadConfig({ VIGIL_DATABASE_URL: 'postgres://vigil:0123abcd@postgres:5432/vigil?sslmode=disable' }).databaseUrl).toContain('@postgres:5432/vigil');
    const dir = await tempDir();
    try {
      const file = join(dir.path, 'database_url');
      await writeFile(file, 'postgresql://vigil:s3cret@db/vigil?sslmode=require\n');
      expect(loadConfig({ VIGIL_DATABASE_URL_FILE: file }).databaseUrl).toBe('postgresql://vigil:s3cret@db/vigil?sslmode=require');
    } finally {
      await dir.remove();
    }
  });

  it('reads worker mode from VIGIL_BROKER_*: a fixed client id, credentials outside the URL, the password from a file', async () => {
    expect(loadConfig({}).broker).toBeUndefined();
    expect(() => loadConfig({ VIGIL_BROKER_URL: 'mqtt://broker:1883' })).toThrow(/VIGIL_BROKER_CLIENT_ID: is required with VIGIL_BROKER_URL/);
    expect(() => loadConfig({ VIGIL_BROKER_URL: 'http://broker', VIGIL_BROKER_CLIENT_ID: 'w1' })).toThrow(/VIGIL_BROKER_URL: /);
    expect(() => loadConfig({ VIGIL_BROKER_URL: 'mqtt://u:hunter2@broker', VIGIL_BROKER_CLIENT_ID: 'w1' })).toThrow(/VIGIL_BROKER_URL: must not carry credentials/);
    expect(() => loadConfig({ VIGIL_BROKER_URL: 'mqtt://u:hunter2@broker', VIGIL_BROKER_CLIENT_ID: 'w1' })).toThrow(expect.objectContaining({ message: expect.not.stringContaining('hunter2') }));
    expect(() => loadConfig({ VIGIL_BROKER_CLIENT_ID: 'w1' })).toThrow(/VIGIL_BROKER_CLIENT_ID: has no effect without VIGIL_BROKER_URL/);
    expect(() => loadConfig({ VIGIL_BROKER_URL: 'mqtt://broker', VIGIL_BROKER_CLIENT_ID: 'w/1' })).toThrow(/VIGIL_BROKER_CLIENT_ID: must be 1-128/);
    const dir = await tempDir();
    try {
      const secret = join(dir.path, 'broker_password');
      await writeFile(secret, 's3cret\n');
      const c = loadConfig({ VIGIL_BROKER_URL: 'mqtts://broker:8883', VIGIL_BROKER_CLIENT_ID: 'vigil-worker-1', VIGIL_BROKER_USERNAME: 'vigil', VIGIL_BROKER_PASSWORD_FILE: secret });
      expect(c.broker).toEqual({
        url: 'mqtts://broker:8883',
        clientId: 'vigil-worker-1',
        username: 'vigil',
        password: 's3cret',
        tls: undefined,
        shareGroup: 'vigil',
        sessionExpirySeconds: 604_800,
        connectTimeoutMs: 30_000,
        receiveMaximum: 1_000,
        protocol: 'auto',
        dynsec: undefined,
        hookSecret: undefined,
      });
    } finally {
      await dir.remove();
    }
  });

  it('reads the dynamic-security administrator with VIGIL_BROKER_DYNSEC, and requires it', () => {
    const worker = { VIGIL_BROKER_URL: 'mqtt://broker:1883', VIGIL_BROKER_CLIENT_ID: 'w1' };
    expect(() => loadConfig({ ...worker, VIGIL_BROKER_DYNSEC: 'true' })).toThrow(/VIGIL_BROKER_DYNSEC_USERNAME: is required with VIGIL_BROKER_DYNSEC/);
    expect(() => loadConfig({ ...worker, VIGIL_BROKER_DYNSEC: 'true', VIGIL_BROKER_DYNSEC_USERNAME: 'admin' })).toThrow(/VIGIL_BROKER_DYNSEC_PASSWORD: is required/);
    expect(() => loadConfig({ VIGIL_BROKER_DYNSEC: 'true', VIGIL_BROKER_DYNSEC_USERNAME: 'admin', VIGIL_BROKER_DYNSEC_PASSWORD: 'x' })).toThrow(/VIGIL_BROKER_DYNSEC: has no effect without VIGIL_BROKER_URL/);
    const c = loadConfig({ ...worker, VIGIL_BROKER_DYNSEC: 'true', VIGIL_BROKER_DYNSEC_USERNAME: 'admin', VIGIL_BROKER_DYNSEC_PASSWORD: 'pw' });
    expect(c.broker?.dynsec).toEqual({ username: 'admin', password: 'pw', sync: true });
  });

  it('reads which worker syncs the broker logins (VIGIL_BROKER_DYNSEC_SYNC), on unless turned off', () => {
    const dynsec = { VIGIL_BROKER_URL: 'mqtt://broker:1883', VIGIL_BROKER_CLIENT_ID: 'w2', VIGIL_BROKER_DYNSEC: 'true', VIGIL_BROKER_DYNSEC_USERNAME: 'admin', VIGIL_BROKER_DYNSEC_PASSWORD: 'pw' };
    expect(loadConfig({ ...dynsec, VIGIL_BROKER_DYNSEC_SYNC: 'off' }).broker?.dynsec?.sync).toBe(false);
    expect(loadConfig({ ...dynsec, VIGIL_BROKER_DYNSEC_SYNC: 'on' }).broker?.dynsec?.sync).toBe(true);
    expect(() => loadConfig({ ...dynsec, VIGIL_BROKER_DYNSEC_SYNC: 'maybe' })).toThrow(/VIGIL_BROKER_DYNSEC_SYNC: must be on or off/);
    expect(() => loadConfig({ VIGIL_BROKER_URL: 'mqtt://broker:1883', VIGIL_BROKER_CLIENT_ID: 'w2', VIGIL_BROKER_DYNSEC_SYNC: 'off' })).toThrow(/VIGIL_BROKER_DYNSEC_SYNC: has no effect without VIGIL_BROKER_DYNSEC/);
  });

  it('bounds what a worker holds in flight (VIGIL_WORKER_MAX_INFLIGHT, an MQTT 5 Receive Maximum) and picks its protocol', () => {
    const worker = { VIGIL_BROKER_URL: 'mqtt://broker:1883', VIGIL_BROKER_CLIENT_ID: 'w1' };
    expect(loadConfig({ ...worker, VIGIL_WORKER_MAX_INFLIGHT: '200', VIGIL_BROKER_PROTOCOL: '3.1.1' }).broker).toMatchObject({ receiveMaximum: 200, protocol: 4 });
    expect(() => loadConfig({ ...worker, VIGIL_WORKER_MAX_INFLIGHT: '70000' })).toThrow(/VIGIL_WORKER_MAX_INFLIGHT: /);
    expect(() => loadConfig({ ...worker, VIGIL_BROKER_PROTOCOL: '4' })).toThrow(/VIGIL_BROKER_PROTOCOL: must be auto, 5 or 3.1.1/);
  });

  it('reads the broker hook secret, at least 24 characters, in worker mode only', () => {
    const worker = { VIGIL_BROKER_URL: 'mqtt://broker:1883', VIGIL_BROKER_CLIENT_ID: 'w1' };
    expect(() => loadConfig({ ...worker, VIGIL_BROKER_HOOK_SECRET: 'short' })).toThrow(/VIGIL_BROKER_HOOK_SECRET: must be at least 24 characters/);
    expect(() => loadConfig({ ...worker, VIGIL_BROKER_HOOK_SECRET: 'short' })).toThrow(expect.objectContaining({ message: expect.not.stringContaining('"short"') }));
    expect(() => loadConfig({ VIGIL_BROKER_HOOK_SECRET: 'x'.repeat(24) })).toThrow(/VIGIL_BROKER_HOOK_SECRET: has no effect without VIGIL_BROKER_URL/);
    expect(loadConfig({ ...worker, VIGIL_BROKER_HOOK_SECRET: 'x'.repeat(24) }).broker?.hookSecret).toBe('x'.repeat(24));
  });
});
