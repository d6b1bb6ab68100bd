import { Registry as MetricsRegistry } from 'prom-client';
import { openState } from '../../app/state.js';
import { createGateway, perDeviceLogLimiter, type Gateway, type GatewayOptions, type ReadingSink } from '../../gateway/index.js';
import { tempDir } from './temp.js';

export interface TestGateway {
  readonly state: ReturnType<typeof openState>;
  readonly gateway: Gateway;
  stop(): Promise<void>;
}

const QUIET = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** The gateway alone on a free loopback port, with a state database of its own, handing readings to `sink`; silent. */
export async function startTestGateway(sink: ReadingSink, rate: GatewayOptions['rate'] = { perSecond: 100, burst: 100, maxWaitMs: 1000 }): Promise<TestGateway> {
  const dir = await tempDir();
  const state = openState(dir.path);
  const gateway = await createGateway({
    host: '127.0.0.1',
    port: 0,
    topicPrefix: 'rpm/v1',
    registry: state.registry,
    sink,
    metrics: new MetricsRegistry(),
    log: QUIET,
    rate,
    maxInFlightBytes: 1 << 20,
    // Quiet: its folded lines need no closing.
    deviceLogLimiter: perDeviceLogLimiter(),
  });
  return {
    state,
    gateway,
    stop: async () => {
      await gateway.close();
      state.db.close();
      await dir.remove();
    },
  };
}
