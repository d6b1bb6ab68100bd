/** What ingest made of a readings message: the readings it rejected (reported to the device). */
export interface SinkOutcome {
  readonly rejections: readonly { ref: string; code: string; message: string }[];
}

/**
 * How the gateway hands a readings message to ingest. `answer` is called once: with the outcome when the
 * readings are durable (the PUBACK may go), or with the error why not. A callback rather than a promise: at
 * 12,000 readings/s about a thousand messages wait for their commit, and each suspended async function waiting
 * on a promise held a kilobyte the garbage collector copied again and again (docs/benchmarks.md).
 */
export interface ReadingSink {
  accept(
    deviceId: string,
    payload: Buffer,
    /** Wire format v1 (the readings topic) or a SenML pack (the senml topic). */
    format: 'v1' | 'senml',
    answer: (result: SinkOutcome | Error) => void,
  ): void;
}

/** `sink.accept` as a promise, for a caller that awaits each message anyway (the broker worker). */
export function acceptReadings(sink: ReadingSink, deviceId: string, payload: Buffer, format: 'v1' | 'senml'): Promise<SinkOutcome> {
  return new Promise((resolve, reject) => sink.accept(deviceId, payload, format, (result) => (result instanceof Error ? reject(result) : resolve(result))));
}
