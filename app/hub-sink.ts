import type { HubSink } from '../gateway/index.js';
import type { RejectedPublish } from '../ingest/index.js';

/**
 * The care loop as the gateway (embedded or worker) sees it, with every refused hub reply kept in the rejection
 * log as a refused reading is: coded, listed by `vigil rejections list`, exported and erased with the patient,
 * pruned by retention, never replayed. The hub is told on its errors topic by the gateway, as before.
 */
export function hubSinkKeepingRefusals(
  care: HubSink,
  rejections: { record(publish: RejectedPublish): void },
  patientOf: (hubId: string) => string | null,
  now: () => number = Date.now,
): HubSink {
  return {
    inboxAcked: care.inboxAcked?.bind(care),
    inboxSubscribed: care.inboxSubscribed?.bind(care),
    inboxDeliverable: care.inboxDeliverable?.bind(care),
    handleReply(hubId, payload) {
      const problem = care.handleReply(hubId, payload);
      if (problem) {
        rejections.record({ topic: 'replies', deviceId: hubId, patientId: patientOf(hubId), receivedAt: now(), rejections: [problem], payload, allRejected: true });
      }
      return problem;
    },
  };
}
