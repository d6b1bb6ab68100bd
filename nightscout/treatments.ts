import { METER_ID } from './entries.js';
import { documentId, emptyTranslation, isDocument, numberOf, rejection, timeOf, type Translation } from './translation.js';

/**
 * `POST` and `PUT /api/v1/treatments`: what Vigil can use of Nightscout's treatments is the finger-stick blood
 * glucose, a `glucose` value on a "BG Check" or with `glucoseType` "Finger" (AndroidAPS and Nightscout's care
 * portal record one with a bolus too). It becomes a meter glucose reading, in the treatment's `units` ("mg/dl" or
 * "mmol"); a reading without units is rejected rather than guessed, since 7 mmol/L read as 7 mg/dL would be a
 * severe hypoglycaemia. `glucoseType` "Sensor" repeats a CGM value already uploaded as an entry; insulin, carbs,
 * temporary basals, notes and every other treatment are not readings: ignored (counted, answered as stored).
 */
export function translateTreatments(body: unknown, deviceId: string): Translation {
  const out = emptyTranslation();
  const treatments = Array.isArray(body) ? body : [body];
  treatments.forEach((treatment, index) => {
    const ref = String(index);
    if (!isDocument(treatment)) return void out.rejections.push({ ref, code: 'VIGIL_ERR_NOT_A_READING', message: 'each treatment must be a JSON object', item: treatment });
    const glucoseType = typeof treatment.glucoseType === 'string' ? treatment.glucoseType.toLowerCase() : undefined;
    const isCheck = treatment.eventType === 'BG Check' || glucoseType === 'finger';
    if (treatment.glucose === undefined || treatment.glucose === null || treatment.glucose === '' || !isCheck) return void out.ignored.push({ ref, kind: 'treatment' });
    if (glucoseType === 'sensor') return void out.ignored.push({ ref, kind: 'sensor_glucose_treatment' });
    const value = numberOf(treatment.glucose);
    if (value === undefined) return void out.rejections.push(rejection(ref, 'VIGIL_ERR_SCHEMA', 'glucose: a number is required', treatment));
    const units = typeof treatment.units === 'string' ? treatment.units.toLowerCase() : undefined;
    const unit = units === 'mg/dl' ? 'mg/dL' : units === 'mmol' || units === 'mmol/l' ? 'mmol/L' : undefined;
    if (!unit) return void out.rejections.push(rejection(ref, 'VIGIL_ERR_SCHEMA', 'units: "mg/dl" or "mmol" is required with a glucose value', treatment));
    const time = timeOf(treatment, ['date', 'mills', 'timestamp'], ['created_at']);
    if (time === undefined) return void out.rejections.push(rejection(ref, 'VIGIL_ERR_SCHEMA', 'created_at: a time with an offset (or date in epoch milliseconds) is required', treatment));
    out.items.push({ ref, item: { type: 'glucose', time: new Date(time).toISOString(), value, unit, source: 'meter', sampleType: 'capillary_blood', id: METER_ID } });
    out.documents.set(ref, { ...treatment, _id: documentId(deviceId, METER_ID, time) });
  });
  return out;
}
