/**
 * A bare aedes broker, nothing of Vigil: the ceiling of the broker library on this machine. Prints its port.
 */
import { Aedes } from 'aedes';
import { createServer, type AddressInfo } from 'node:net';

const broker = await Aedes.createBroker();
const server = createServer(broker.handle);
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  broker.close(() => process.exit(0));
});
