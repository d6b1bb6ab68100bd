import { z } from 'zod';

/**
 * Identifiers of patients and devices. They appear in MQTT topics and InfluxDB tags, so they are kept to a
 * charset that needs no escaping anywhere and can never contain the MQTT wildcards or level separator.
 */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export const entityIdSchema = z
  .string()
  .regex(ID_PATTERN, 'must be 1-64 characters of letters, digits, "_" or "-", starting with a letter or digit');

export type PatientId = string;
export type DeviceId = string;
