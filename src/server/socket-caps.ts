/** Close codes of our own (graphql-ws keeps 4400–4499 for its protocol). */
export const SocketClose = {
  /** Over a cap of sockets per IP, user or device, or of live operations on one socket. */
  TooMany: 4430,
  /** The socket's pushes waited unread beyond `WS_PUSH_QUEUE`. */
  SlowConsumer: 4431,
} as const;

/**
 * Counts this node's sockets per client IP, per user and per device, against
 * the caps in config (`WS_MAX_SOCKETS_PER_*`). Counted per node: one node's
 * memory is what a flood of sockets exhausts, and a load balancer spreads a
 * client's sockets over nodes anyway.
 */
export class SocketCaps {
  private readonly byIp = new Map<string, number>();
  private readonly byUser = new Map<string, number>();
  private readonly byDevice = new Map<string, number>();

  constructor(private readonly caps: { perIp: number; perUser: number; perDevice: number }) {}

  /** Takes a place for `ip`; null when the IP is at its cap (nothing is taken then). */
  admitIp(ip: string): (() => void) | null {
    return take(this.byIp, ip, this.caps.perIp);
  }

  /**
   * Takes a place for the user and the device; on refusal the reason, and
   * nothing is taken. The release function frees both places once.
   */
  admitSession(userId: string, deviceKey: string): { release: () => void } | { refused: string } {
    const user = take(this.byUser, userId, this.caps.perUser);
    if (!user) return { refused: `too many sockets for this user (at most ${this.caps.perUser})` };
    const device = take(this.byDevice, `${userId}|${deviceKey}`, this.caps.perDevice);
    if (!device) {
      user();
      return { refused: `too many sockets for this device (at most ${this.caps.perDevice})` };
    }
    return { release: () => (user(), device()) };
  }
}

function take(counts: Map<string, number>, key: string, cap: number): (() => void) | null {
  const n = counts.get(key) ?? 0;
  if (n >= cap) return null;
  counts.set(key, n + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (counts.get(key) ?? 1) - 1;
    if (left > 0) counts.set(key, left);
    else counts.delete(key);
  };
}
