import type { Connection, Presence, RemoteConnection } from './presence';

/**
 * Presence in this process, for a node that is the only one (embedded mode).
 * Same entries as RedisPresence (one per live `messages` subscription, keyed
 * by connection and device under the user), but nothing to renew: an entry
 * lives from attach to detach, and all of them die with the process, whose
 * sockets die with it. So none ever lapses and onLapse is never called.
 */
export class MemoryPresence implements Presence {
  /** Subscriptions attached here, by connectionId (as RedisPresence keeps them). */
  private readonly local = new Map<string, Connection>();
  /** userId -> "connectionId|deviceId" -> entry. */
  private readonly byUser = new Map<string, Map<string, RemoteConnection>>();
  onLapse: (c: Connection) => Promise<void> = async () => undefined;

  constructor(readonly nodeId: string = 'local') {}

  private member = (c: Connection) => `${c.connectionId}|${c.deviceId}`;

  async attach(c: Connection): Promise<void> {
    let entries = this.byUser.get(c.userId);
    if (!entries) this.byUser.set(c.userId, (entries = new Map()));
    entries.set(this.member(c), { nodeId: this.nodeId, connectionId: c.connectionId, deviceId: c.deviceId, userId: c.userId });
    this.local.set(c.connectionId, c);
  }

  async detach(c: Connection): Promise<void> {
    this.local.delete(c.connectionId);
    const entries = this.byUser.get(c.userId);
    if (!entries) return;
    entries.delete(this.member(c));
    if (!entries.size) this.byUser.delete(c.userId);
  }

  get localCount(): number {
    return this.local.size;
  }

  async connectionsOf(userId: string): Promise<RemoteConnection[]> {
    return this.listOf(userId);
  }

  async connectionsOfMany(userIds: readonly string[]): Promise<Map<string, RemoteConnection[]>> {
    return new Map(userIds.map((u) => [u, this.listOf(u)]));
  }

  async isOnline(userId: string): Promise<boolean> {
    return this.byUser.has(userId);
  }

  async isPresent(c: Connection): Promise<boolean> {
    return this.byUser.get(c.userId)?.has(this.member(c)) ?? false;
  }

  /** Nothing runs in the background; entries stay until detached (as in Redis until their TTL). */
  stop(): void {}

  /** Copies: a caller may keep or change the list. */
  private listOf(userId: string): RemoteConnection[] {
    return [...(this.byUser.get(userId)?.values() ?? [])].map((e) => ({ ...e }));
  }
}
