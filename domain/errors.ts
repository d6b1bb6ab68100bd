/**
 * The catalogue of Vigil's coded errors. Devices see these codes on their errors topic, operators see them in
 * metrics labels and logs, and docs/errors.md documents each one (a test keeps the two in step).
 */
export const ERROR_CODES = {
  VIGIL_ERR_NOT_JSON: 'the payload is not valid UTF-8 JSON',
  VIGIL_ERR_PAYLOAD_TOO_LARGE: 'the payload is larger than the configured limit',
  VIGIL_ERR_BATCH_TOO_LARGE: 'the array holds more readings than one message may carry',
  VIGIL_ERR_TOO_DEEP: 'the JSON nests arrays and objects deeper than any reading or request needs',
  VIGIL_ERR_NOT_A_READING: 'the item is not a JSON object',
  VIGIL_ERR_UNKNOWN_TYPE: 'the reading has no type, or a type this version does not know',
  VIGIL_ERR_SCHEMA: 'a field is missing, of the wrong kind, or has a unit that is not accepted',
  VIGIL_ERR_OUT_OF_RANGE: 'a value is outside the physically plausible range',
  VIGIL_ERR_BP_ORDER: 'systolic pressure is not above diastolic pressure',
  VIGIL_ERR_FUTURE_TIME: 'the time of measurement is further in the future than the allowed clock skew',
  VIGIL_ERR_TOO_OLD: 'the time of measurement is older than the oldest backlog accepted',
  VIGIL_ERR_CONTROL_SOLUTION: 'a control-solution test is a meter check, not patient data',
  VIGIL_ERR_DEVICE_UNASSIGNED: 'the device is not assigned to a patient',
  VIGIL_ERR_BAD_STATUS: 'the status message does not match the status schema',
  VIGIL_ERR_SENML: 'the SenML pack or record does not follow RFC 8428, or holds no numeric value Vigil can map',
  VIGIL_ERR_RATE_LIMITED: 'the device publishes faster than its rate limit (the message was not acknowledged), or too many logins or API requests from one address, or too many live connections of one caller',
  VIGIL_ERR_FOREIGN_TOPIC: 'the device published or subscribed outside its own topics',
  VIGIL_ERR_OUTBOX_UNAVAILABLE: 'the durable outbox cannot be written; the message was not acknowledged',
  VIGIL_ERR_STATE_UNAVAILABLE: 'the shared state database (PostgreSQL) does not answer: logins and credential checks wait until it is back',
  VIGIL_ERR_CONFIG: 'a configuration variable is missing or invalid',
  VIGIL_ERR_DATA_CORRUPT: 'a file in the data directory is damaged, or is not what Vigil keeps there',
  VIGIL_ERR_NOT_FOUND: 'the patient or device does not exist',
  VIGIL_ERR_CONFLICT: 'the patient, device or alert is not in a state that allows this',
  VIGIL_ERR_UNAUTHORIZED: 'the API request carries no valid credentials',
  VIGIL_ERR_FORBIDDEN: 'the user may not do this or see this patient, or the CSRF token is missing',
  VIGIL_ERR_LOGIN_FAILED: 'wrong user name or password',
  VIGIL_ERR_BAD_REQUEST: 'the API request does not match its schema',
  VIGIL_ERR_BUSY: 'too many logins at this moment; try again in a few seconds',
  VIGIL_ERR_BACKUP_INVALID: 'the backup is incomplete, damaged (a checksum does not match) or made by a newer Vigil',
  VIGIL_ERR_BROKER: 'the external broker refused or did not answer an administrative command (device provisioning)',
  VIGIL_ERR_BAD_REPLY: 'a hub reply does not match the reply schema, or refers to no inbox message of this hub',
  VIGIL_ERR_SAFETY_FLOOR: 'a rule override or snooze would loosen or silence a guideline critical limit',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Codes a single reading, or a hub's reply, can be rejected with (a subset of the catalogue). */
export type RejectionCode = Extract<
  ErrorCode,
  | 'VIGIL_ERR_BAD_REPLY'
  | 'VIGIL_ERR_NOT_JSON'
  | 'VIGIL_ERR_PAYLOAD_TOO_LARGE'
  | 'VIGIL_ERR_BATCH_TOO_LARGE'
  | 'VIGIL_ERR_TOO_DEEP'
  | 'VIGIL_ERR_NOT_A_READING'
  | 'VIGIL_ERR_UNKNOWN_TYPE'
  | 'VIGIL_ERR_SCHEMA'
  | 'VIGIL_ERR_OUT_OF_RANGE'
  | 'VIGIL_ERR_BP_ORDER'
  | 'VIGIL_ERR_FUTURE_TIME'
  | 'VIGIL_ERR_TOO_OLD'
  | 'VIGIL_ERR_CONTROL_SOLUTION'
  | 'VIGIL_ERR_DEVICE_UNASSIGNED'
  | 'VIGIL_ERR_BAD_STATUS'
  | 'VIGIL_ERR_SENML'
>;

/** An error that carries a stable code; thrown across component boundaries and mapped to responses in one place. */
export class VigilError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string = ERROR_CODES[code], options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VigilError';
    this.code = code;
  }
}
