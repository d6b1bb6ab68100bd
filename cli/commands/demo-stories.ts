import type { WireReadingInput } from '../../domain/index.js';
import { SimulatedDevice, type DeviceConnection } from '../../simulators/index.js';
import type { Vigil } from '../../app/vigil.js';

const MIN = 60_000;
const iso = (msAgo: number) => new Date(Date.now() - msAgo).toISOString();

/**
 * Two short stories the demo plays at start, so that the alert semantics of docs/alerts.md show within seconds
 * instead of hours: a phone hub uploads a crisis from three hours ago followed by normal readings (a critical
 * alert that is back in range and latches until someone acknowledges it), and a wearable reports yesterday's
 * fall and then a new one (a second fall notifies on its own).
 */
export async function playDemoStories(vigil: Vigil, conn: DeviceConnection): Promise<SimulatedDevice[]> {
  // Its own device id: `demo-hypertension-hub` is the care loop's hub app (demo-care.ts), already connected by
  // now; rotating that device's secret here would knock the hub app offline and strand its messages.
  const hub = await play(vigil, conn, 'demo-hypertension', 'demo-hypertension-phone', 'bp_cuff', [
    { type: 'blood_pressure', time: iso(180 * MIN), systolic: 206, diastolic: 118, pulse: 88, id: 'story-crisis' },
    { type: 'blood_pressure', time: iso(150 * MIN), systolic: 142, diastolic: 88, pulse: 76, id: 'story-after-1' },
    { type: 'blood_pressure', time: iso(60 * MIN), systolic: 136, diastolic: 84, pulse: 72, id: 'story-after-2' },
  ]);
  const wearable = await play(vigil, conn, 'demo-healthy', 'demo-healthy-fall-detector', 'fall_detector', [{ type: 'fall', time: iso(26 * 60 * MIN), confidence: 0.92, id: 'story-fall-yesterday' }]);
  await wearable.publish({ type: 'fall', time: iso(0), confidence: 0.88, id: 'story-fall-now' });
  return [hub, wearable];
}

/** Connects a story's device (it stays connected, as a hub or a wearable would) and publishes its readings. */
async function play(vigil: Vigil, conn: DeviceConnection, patientId: string, deviceId: string, model: 'bp_cuff' | 'fall_detector', readings: WireReadingInput[]): Promise<SimulatedDevice> {
  const secret = vigil.registry.getDevice(deviceId) ? await vigil.registry.rotateSecret(deviceId) : (await vigil.registry.addDevice({ patientId, id: deviceId })).secret;
  const device = new SimulatedDevice({ deviceId, secret, model, condition: 'healthy', seed: 7 }, conn);
  await device.start();
  await device.publish(readings);
  return device;
}
