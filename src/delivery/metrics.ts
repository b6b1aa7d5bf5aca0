/** How one delivery ended: acknowledged, not acknowledged (or not sent), or no live socket. */
export type DeliveryOutcome = 'success' | 'failure' | 'offline';

/**
 * What the delivery library reports about itself, as plain functions: the
 * composition root wires them to a metrics library (src/server/metrics.ts),
 * the library knows none. Each is called on the hot path (per push, per
 * acknowledge), so an implementation must be cheap and must not throw.
 */
export interface DeliveryMetrics {
  /**
   * `n` deliveries ended with `outcome`. success and failure count devices
   * (one per live device pushed to); offline counts (message, receiving user)
   * pairs whose user had no live socket, the sender's own copy excepted.
   */
  delivered(outcome: DeliveryOutcome, n: number): void;
  /** Seconds from a push being sent to its device's acknowledge (successes only). */
  ackLatency(seconds: number): void;
  /**
   * Seconds from a message's `created_at` (taken in its storing transaction,
   * just before the commit) to its push being handed to a socket on this node.
   */
  pushLatency(seconds: number): void;
  /** Rows of one cursor statement: `success` (acknowledged pushes) or `guard` (late-commit guards). */
  cursorBatch(statement: 'success' | 'guard', rows: number): void;
}

const noop = (): void => undefined;

/** Reports nothing: the default when no metrics are wired (unit tests, tools). */
export const noDeliveryMetrics: DeliveryMetrics = { delivered: noop, ackLatency: noop, pushLatency: noop, cursorBatch: noop };
