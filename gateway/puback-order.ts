import type { Client } from 'aedes';

/** aedes's authorizePublish callback: its call gives the PUBACK (puback-writer.ts), or with an error closes the connection. */
export type PublishAnswer = (err: Error | null) => void;

interface Slot {
  readonly answer: PublishAnswer;
  ready: boolean;
  err: Error | null;
}

const queues = new WeakMap<Client, Slot[]>();

/**
 * [MQTT-4.6.0-2] A client's PUBACKs must follow the order of its PUBLISHes. aedes handles every packet of a read
 * chunk at once, and reads the next chunk as new data arrives while earlier readings may still commit, so a
 * status, a reply, or a readings message answered at once (all refused, a duplicate) would otherwise be
 * acknowledged before the readings published ahead of it. Each publish takes a place in its client's line when it
 * arrives; its answer is held until every earlier one has been given, and then given in that order.
 */
export function inArrivalOrder(client: Client, answer: PublishAnswer): PublishAnswer {
  let line = queues.get(client);
  if (!line) {
    line = [];
    queues.set(client, line);
  }
  const slot: Slot = { answer, ready: false, err: null };
  line.push(slot);
  const queue = line;
  return (err) => {
    if (slot.ready) return;
    slot.ready = true;
    slot.err = err;
    // Shift before answering: an answer can re-enter (aedes reads the next chunk from it) and queue behind.
    while (queue.length > 0 && queue[0]!.ready) {
      const next = queue.shift()!;
      next.answer(next.err);
    }
  };
}
