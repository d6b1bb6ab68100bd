/**
 * One reading of every type and variant a device can publish (docs/device-protocol.md), in units Vigil converts
 * (lb, mmol/L, degF), minutes apart from `t0`: what the FHIR tests publish over MQTT.
 */
export function everyReadingType(t0: number): Record<string, unknown>[] {
  const at = (minutes: number) => new Date(t0 + minutes * 60_000).toISOString();
  return [
    { type: 'blood_pressure', time: at(0), systolic: 128, diastolic: 82, pulse: 70, id: 'b0' },
    { type: 'blood_pressure', time: at(10), systolic: 205, diastolic: 124, pulse: 96, irregularHeartbeat: true, id: 'b1' },
    { type: 'glucose', time: at(20), value: 6.2, unit: 'mmol/L', source: 'meter', mealContext: 'fasting', id: 'g0' },
    { type: 'glucose', time: at(25), value: 140, unit: 'mg/dL', source: 'cgm', trendRate: 1.2, id: 'g1' },
    { type: 'glucose', time: at(26), flag: 'HI', source: 'meter', id: 'g2' },
    { type: 'weight', time: at(30), value: 181.5, unit: 'lb', id: 'w0' },
    { type: 'spo2', time: at(40), value: 95, pulse: 80, id: 's0' },
    { type: 'heart_rate', time: at(50), value: 66, id: 'h0' },
    { type: 'temperature', time: at(60), value: 99.1, unit: 'degF', id: 't0' },
    { type: 'steps', time: at(70), count: 4200, periodSeconds: 3600, id: 'st0' },
    { type: 'fall', time: at(80), confidence: 0.9, id: 'f0' },
  ];
}
