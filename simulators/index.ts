/** Simulated devices: real MQTT clients that speak the device contract. Imports only the domain module. */
export { SimulatedDevice, type SimulatedDeviceSpec, type DeviceConnection, type DeviceStats } from './device.js';
export { Fleet, type FleetOptions, type FleetStats } from './fleet.js';
export { measure, DEVICE_MODELS, type DeviceModel } from './models/index.js';
export { PROFILES, type Condition, type Physiology } from './profiles.js';
export { implausible } from './faults.js';
export { Rng } from './rng.js';
export { type Episode } from './episodes.js';
export { type HistoryTrend, CADENCE } from './history.js';
export { SCENARIOS, findScenario, type Scenario, type Expectation, type ScenarioContext } from './scenarios.js';
export { runFleetLoad, type LoadOptions, type LoadResult, type LoadSnapshot, type LoadDevice } from './load.js';
export { PhoneHub } from './hub.js';
export { simulatedCheckinAnswers } from './checkin-answers.js';
export { SimulatedHubApp, type HubAppSpec, type HubAppStats } from './hub-app.js';
