import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy on a free loopback port in front of a real server, that can make the connections open through it
 * go silent for good: bytes are no longer passed either way, and neither end is told (no FIN, no RST), as when a
 * NAT or load balancer forgets an idle flow. Connections opened afterwards pass normally.
 */
export async function startTcpProxy(targetPort: number) {
  const open = new Set<{ client: Socket; upstream: Socket }>();
  /** Connections opened while black-holed: accepted and never answered (a host gone from the network). */
  const swallowed: Socket[] = [];
  let blackholed = false;
  const server = createServer((client) => {
    if (blackholed) {
      client.pause();
      client.on('error', () => undefined);
      swallowed.push(client);
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    const pair = { client, upstream };
    open.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = () => {
      open.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const silenced: Socket[] = [];
  return {
    port: (server.address() as AddressInfo).port,
    /** Every connection open now stops passing bytes; both ends stay open and hear nothing. */
    silence(): number {
      for (const { client, upstream } of open) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
        silenced.push(client, upstream);
      }
      const count = open.size;
      open.clear();
      return count;
    },
    /** As `silence`, and every connection opened from now on is accepted and never answered. */
    blackhole(): void {
      blackholed = true;
      this.silence();
    },
    /** Connections opened while black-holed (attempts to reach the server that got nowhere). */
    swallowed: () => swallowed.length,
    async close() {
      for (const s of swallowed) s.destroy();
      for (const { client, upstream } of open) {
        client.destroy();
        upstream.destroy();
      }
      for (const s of silenced) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
