import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestVigil, type TestVigil } from './support/vigil.js';

// The dashboard docker-compose.yml provisions into Grafana: its panels must name metrics Vigil really exposes,
// so that renaming a metric breaks this test instead of silently emptying a panel in production.
const dashboardFile = new URL('../deploy/grafana/dashboards/vigil.json', import.meta.url);
const datasourceFile = new URL('../deploy/grafana/provisioning/datasources/prometheus.yml', import.meta.url);

interface Panel {
  readonly title: string;
  readonly datasource?: { uid: string };
  readonly targets?: readonly { expr: string; datasource?: { uid: string } }[];
}
interface Dashboard {
  readonly panels: readonly Panel[];
  readonly templating: { list: readonly { query: { query: string } }[] };
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset']);

/** The metric names a PromQL expression selects (label matchers, ranges, grouping labels and functions removed). */
export function metricNames(expr: string): string[] {
  const labelValues = /^label_values\(\s*([a-zA-Z_:][\w:]*)/.exec(expr);
  if (labelValues) return [labelValues[1]!];
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  return [...bare.matchAll(/(?<![\w.:$])([a-zA-Z_:][\w:]*)(?![\w:]|\s*\()/g)].map((m) => m[1]!).filter((name) => !KEYWORDS.has(name));
}

/** Every series name a scrape can contain: each declared metric, and a histogram's or summary's parts. */
function exposedNames(scrape: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of scrape.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram') for (const part of ['_bucket', '_sum', '_count']) names.add(name! + part);
    if (type === 'summary') for (const part of ['_sum', '_count']) names.add(name! + part);
  }
  return names;
}

describe('the Grafana dashboard in deploy/grafana', () => {
  let t: TestVigil;
  let dashboard: Dashboard;
  let exposed: Set<string>;

  beforeAll(async () => {
    dashboard = JSON.parse(await readFile(dashboardFile, 'utf8')) as Dashboard;
    t = await startTestVigil();
    exposed = exposedNames(await (await fetch(`${t.httpUrl}/metrics`)).text());
  });
  afterAll(async () => {
    await t?.stop();
  });

  const expressions = () => [
    ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((target) => ({ where: p.title, expr: target.expr }))),
    ...dashboard.templating.list.map((v) => ({ where: 'variable', expr: v.query.query })),
  ];

  it('reads metric names out of PromQL', () => {
    expect(metricNames('histogram_quantile(0.95, sum by (le) (rate(vigil_x_bucket{instance=~"$instance", a="b{c}"}[$__rate_interval])))')).toEqual(['vigil_x_bucket']);
    expect(metricNames('sum(a_total) / ignoring(code) sum(b_total offset 5m)')).toEqual(['a_total', 'b_total']);
    expect(metricNames('label_values(vigil_build_info, instance)')).toEqual(['vigil_build_info']);
  });

  it('names in every panel only metrics that a running Vigil exposes on /metrics', () => {
    const missing = expressions().flatMap(({ where, expr }) => metricNames(expr).filter((name) => !exposed.has(name)).map((name) => `${where}: ${name}`));
    expect(exposed.size).toBeGreaterThan(20);
    expect(missing).toEqual([]);
  });

  it('covers what an operator watches: ingest, rejections, PUBACK, outbox, store, alerts, webhook, devices, build, process', () => {
    const used = new Set(expressions().flatMap(({ expr }) => metricNames(expr)));
    for (const name of [
      'vigil_readings_accepted_total',
      'vigil_readings_rejected_total',
      'vigil_mqtt_puback_duration_seconds_bucket',
      'vigil_outbox_depth',
      'vigil_outbox_oldest_age_seconds',
      'vigil_store_write_duration_seconds_bucket',
      'vigil_alerts_live',
      'vigil_alert_webhook_pending',
      'vigil_devices_connected',
      'vigil_build_info',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_p99_seconds',
    ]) {
      expect(used, name).toContain(name);
    }
  });

  it('queries the data source that Grafana provisioning creates', async () => {
    const uid = /^\s*uid:\s*(\S+)\s*$/m.exec(await readFile(datasourceFile, 'utf8'))?.[1];
    expect(uid).toBeTruthy();
    const uids = new Set(dashboard.panels.flatMap((p) => [p.datasource?.uid, ...(p.targets ?? []).map((target) => target.datasource?.uid)]).filter(Boolean));
    expect([...uids]).toEqual([uid]);
  });

  it('times each readings publish to its PUBACK (the PUBACK latency panel)', async () => {
    const device = await t.provision();
    const client = await t.connectDevice(device);
    await client.publishAsync(`rpm/v1/devices/${device.deviceId}/readings`, JSON.stringify({ type: 'spo2', time: new Date().toISOString(), value: 97, pulse: 70 }), { qos: 1 });
    const scrape = await (await fetch(`${t.httpUrl}/metrics`)).text();
    expect(scrape).toMatch(/^vigil_mqtt_puback_duration_seconds_count 1$/m);
    expect(scrape).toMatch(/^vigil_readings_accepted_total\{type="spo2"\} 1$/m);
  });

  it('exposes vigil_build_info with the version, Node.js version and commit', async () => {
    const scrape = await (await fetch(`${t.httpUrl}/metrics`)).text();
    const { version } = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(scrape).toContain(`vigil_build_info{version="${version}",node_version="${process.version}",commit="unknown"} 1`);
  });
});
