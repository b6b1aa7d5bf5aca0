import type { EntityManager } from '@mikro-orm/knex';
import { Notification, NotificationStatus, NotificationType } from '../entities';
import { AppError, ErrorCode, badInput } from '../errors';
import type { AppPubSub } from '../pubsub';

export interface NewNotification {
  type: NotificationType;
  senderId: string;
  receiverId: string;
  groupId?: string | null;
  remark?: string | null;
}

/**
 * What travels on the NOTIFICATION topic (JSON through Redis): the field names
 * and numbers of Notification in proto/im.proto, ids as decimal strings and
 * times as epoch milliseconds.
 */
export interface NotificationWire {
  id: string;
  type: number;
  status: number;
  senderId: string;
  receiverId: string;
  groupId: string | null;
  remark: string | null;
  createdAt: number;
  updatedAt: number;
}

export const MAX_NOTIFICATION_PAGE = 200;
export const MAX_ACK_IDS = 500;

export function toWire(n: Notification): NotificationWire {
  return {
    id: n.id,
    type: n.type,
    status: n.status,
    senderId: n.senderId,
    receiverId: n.receiverId,
    groupId: n.groupId ?? null,
    remark: n.remark ?? null,
    createdAt: n.createdAt.getTime(),
    updatedAt: n.updatedAt.getTime(),
  };
}

export function fromWire(w: NotificationWire): Notification {
  return Object.assign(new Notification(), {
    ...w,
    createdAt: new Date(w.createdAt),
    updatedAt: new Date(w.updatedAt),
  });
}

/**
 * Stored notifications (D19). Writers store rows inside their own transaction
 * and publish them only after it commits, so a push never announces a row
 * that could still roll back; a lost push is healed by the INITIAL catch-up.
 */
export class NotificationService {
  constructor(
    private readonly em: () => EntityManager,
    private readonly pubSub: AppPubSub,
  ) {}

  /** Inserts INITIAL rows with the caller's transactional EntityManager. */
  async store(em: EntityManager, rows: NewNotification[]): Promise<Notification[]> {
    const now = new Date();
    const list = rows.map((r) =>
      em.create(Notification, { ...r, status: NotificationStatus.INITIAL, createdAt: now, updatedAt: now }),
    );
    await em.flush();
    return list;
  }

  /** The live push to every open socket of each receiver, on any node (via Redis). */
  publish(list: Notification[]): void {
    for (const n of list) {
      try {
        this.pubSub.publish('NOTIFICATION', n.receiverId, toWire(n) as unknown as Record<string, unknown>);
      } catch {
        // The row is committed; notifications(status: INITIAL) delivers it at catch-up.
      }
    }
  }

  /**
   * Newest first, keyset-paged by id on (receiver_id[, status], id). Friend
   * requests from users the caller blocks are left out (held, see
   * FriendService.sendRequest); they show if he unblocks.
   */
  async list(userId: string, opts: { status?: NotificationStatus | null; first: number; after?: string | null }): Promise<Notification[]> {
    if (!Number.isInteger(opts.first) || opts.first < 1 || opts.first > MAX_NOTIFICATION_PAGE) {
      throw badInput(`first must be 1 to ${MAX_NOTIFICATION_PAGE}`);
    }
    const em = this.em();
    const blocked: Array<{ peer_id: unknown }> = await em.execute('SELECT peer_id FROM friend_setting WHERE user_id = ? AND blocked = 1', [userId]);
    return em.find(
      Notification,
      {
        receiverId: userId,
        ...(opts.status ? { status: opts.status } : {}),
        ...(opts.after ? { id: { $lt: opts.after } } : {}),
        ...(blocked.length
          ? { $not: { type: NotificationType.FRIEND_REQUEST, senderId: { $in: blocked.map((r) => String(r.peer_id)) } } }
          : {}),
      },
      { orderBy: { id: 'desc' }, limit: opts.first },
    );
  }

  /**
   * INITIAL -> RECEIVED for the caller's own notifications. Every id is checked
   * before anything is written, so one foreign id leaves all of them unchanged.
   * A foreign id and an unknown one get the same NOT_FOUND (the ids in
   * extensions.ids): an id tells nothing about others' notifications.
   */
  async acknowledge(userId: string, ids: string[]): Promise<Notification[]> {
    if (ids.length > MAX_ACK_IDS) throw new AppError(ErrorCode.LIMIT_EXCEEDED, `at most ${MAX_ACK_IDS} ids at once`);
    if (!ids.length) return [];
    const em = this.em();
    const rows = await em.find(Notification, { id: { $in: ids }, receiverId: userId });
    const mine = new Set(rows.map((n) => n.id));
    const unknown = [...new Set(ids.filter((id) => !mine.has(id)))];
    if (unknown.length) throw new AppError(ErrorCode.NOT_FOUND, 'notification not found', { ids: unknown });
    const now = new Date();
    // receiver_id is in the WHERE too, so the statement can never touch someone else's row.
    await em.nativeUpdate(
      Notification,
      { id: { $in: ids }, receiverId: userId, status: NotificationStatus.INITIAL },
      { status: NotificationStatus.RECEIVED, updatedAt: now },
    );
    const fresh = await this.em().find(Notification, { id: { $in: ids }, receiverId: userId });
    const freshById = new Map(fresh.map((n) => [n.id, n]));
    return ids.map((id) => freshById.get(id)!).filter(Boolean);
  }

  async byId(id: string): Promise<Notification | null> {
    return this.em().findOne(Notification, { id });
  }
}
