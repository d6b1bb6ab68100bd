import { describe, expect, it } from 'vitest';
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

  it.each([
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
});
