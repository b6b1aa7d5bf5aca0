import type { Redis } from '../redis';

/**
 * How the node bus and the ack bus reach other nodes: named channels, where
 * every payload published goes to each node listening on that channel.
 */
export interface Wire {
  /** Hands each payload published on `channel` to `onMessage`; resolves once listening. */
  listen(channel: string, onMessage: (payload: Buffer) => void): Promise<void>;
  /** Publishes `payload`; resolves with how many nodes listen on `channel` (0: nobody got it). */
  publish(channel: string, payload: string | Buffer): Promise<number>;
}

/**
 * Redis pub/sub (D20): `subscriber` is a connection of its own (one that
 * subscribes can run nothing else), `publisher` any other.
 */
export function redisWire(publisher: Redis, subscriber: Redis): Wire {
  return {
    async listen(channel, onMessage) {
      subscriber.on('messageBuffer', (from: Buffer, payload: Buffer) => {
        if (from.toString() === channel) onMessage(payload);
      });
      await subscriber.subscribe(channel);
    },
    publish: (channel, payload) => publisher.publish(channel, payload),
  };
}

/**
 * The wire of a node that is the only one (embedded mode): there is no other
 * node to hear anything, so a push to another node finds it gone and an
 * acknowledge reaches only the waits of this node (which the buses resolve
 * before they publish).
 */
export const aloneWire: Wire = {
  listen: async () => undefined,
  publish: async () => 0,
};
