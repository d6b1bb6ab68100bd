import type { Alert, AlertChange, AlertEventType } from '../types.js';
import type { AlertChanges } from './alert-table.js';

/**
 * What a transition writes: the alert (a new one, or changes to one) and its event. The alert table writes them
 * at once in the embedded database; with shared alerts they are recorded (RecordedAlertWrites) and then sent to
 * PostgreSQL as one statement. Decisions (lifecycle/apply.ts) and actions are written once, against this.
 */
export interface AlertWrites {
  insert(alert: Omit<Alert, 'id'>): Alert;
  update(id: number, changes: AlertChanges): Alert;
  addEvent(type: AlertEventType, alert: Alert, at: number, actor: string | null, change?: AlertChange): void;
}

/** One recorded write: the alert as it is after it, and the event that announces it (none: a quiet update). */
export interface RecordedWrite {
  readonly kind: 'insert' | 'update';
  readonly alert: Alert;
  /** The columns an update changes (an insert writes every column). */
  readonly changes: AlertChanges;
  event?: { readonly type: AlertEventType; readonly at: number; readonly actor: string | null; readonly change?: AlertChange | undefined };
}

/** The id a recorded new alert carries until PostgreSQL gives it its own. */
export const UNSAVED_ALERT_ID = 0;

/**
 * Writes recorded in memory against one alert as the replica has it: what they would make of it is computed here,
 * so a decision reads back its own writes; nothing is stored until the record is committed.
 */
export class RecordedAlertWrites implements AlertWrites {
  readonly writes: RecordedWrite[] = [];
  #current: Alert | undefined;

  constructor(live: Alert | undefined) {
    this.#current = live;
  }

  insert(alert: Omit<Alert, 'id'>): Alert {
    const inserted: Alert = { ...alert, id: UNSAVED_ALERT_ID };
    this.#current = inserted;
    this.writes.push({ kind: 'insert', alert: inserted, changes: {} });
    return inserted;
  }

  update(id: number, changes: AlertChanges): Alert {
    if (!this.#current || this.#current.id !== id) throw new Error(`recorded writes: alert ${id} is not the one recorded`);
    const defined = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)) as AlertChanges;
    const updated: Alert = { ...this.#current, ...defined };
    this.#current = updated;
    this.writes.push({ kind: 'update', alert: updated, changes: defined });
    return updated;
  }

  addEvent(type: AlertEventType, alert: Alert, at: number, actor: string | null, change?: AlertChange): void {
    const last = this.writes.at(-1);
    if (!last || last.alert !== alert || last.event) throw new Error('recorded writes: an event must follow the write it announces');
    last.event = { type, at, actor, change };
  }
}
