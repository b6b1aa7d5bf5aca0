import 'reflect-metadata';
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import express from 'express';
import { SessionStatus } from './auth/session-status';
import { TokenSigner } from './auth/tokens';
import { type Config, ConfigError, loadConfig } from './config';
import { lockDataDir } from './db/data-dir-lock';
import { createOrm, createSql, ensureDatabase, migrate, ormPoolStats } from './db/orm';
import { createDelivery, socketIdOf } from './delivery';
import { keptJwtSecret, JWT_SECRET_FILE } from './kept-secret';
import { createLogger, type Logger } from './logger';
import { createInfra } from './infra';
import { buildSchema } from './schema/build';
import { mountGraphQLHttp } from './server/http';
import { SocketClose } from './server/socket-caps';
import { mountFallbacks } from './server/http-errors';
import { AppMetrics } from './server/metrics';
import { mountGraphQLWs } from './server/ws';
import { listenStartupError, mariadbStartupError, StartupError } from './startup';
import { AuthService } from './services/auth.service';
import { UserCache } from './services/cache';
import { FriendService } from './services/friend.service';
import { GroupService } from './services/group.service';
import { NotificationService } from './services/notification.service';
import type { Services } from './services';
import { ConversationService } from './services/conversation.service';
import { Contacts } from './services/contacts';
import { LastSeen } from './services/last-seen';
import { MessageService } from './services/message.service';
import { ReadService } from './services/read.service';
import { TypingService } from './services/typing.service';
import { UserService } from './services/user.service';

export interface App {
  config: Config;
  log: Logger;
  services: Services;
  httpServer: Server;
  /** The bound port (useful when PORT=0). */
  port(): number;
  /** The port of the metrics server (METRICS_PORT), if it has one. */
  metricsPort(): number | undefined;
  stop(): Promise<void>;
}

export { StartupError };

/**
 * The composition root: builds every part in order and registers its disposer;
 * stop() runs the disposers in reverse. Nothing starts at import time.
 */
export async function compose(config: Config, log: Logger = createLogger(config.logLevel)): Promise<App> {
  const disposers: Array<[string, () => Promise<unknown>]> = [];
  const stop = async () => {
    for (const [name, dispose] of disposers.reverse()) {
      await dispose().catch((err) => log.warn({ err, part: name }, 'dispose failed'));
    }
    disposers.length = 0;
  };
  try {
    if (config.jwt.generated) log.warn('JWT_SECRET is not set: using a random secret for this process (tokens die with it)');

    const db = config.database;
    if (db.kind === 'sqlite') {
      const lock = lockDataDir(config.dataDir);
      disposers.push(['data-dir-lock', async () => lock.release()]);
    }
    if (db.kind === 'mariadb') {
      try {
        await ensureDatabase(db);
      } catch (e) {
        throw mariadbStartupError(db, e);
      }
    }
    const orm = await createOrm(config, log.child({ part: 'orm' }));
    disposers.push(['orm', () => orm.close(true)]);
    await migrate(orm, log);
    const pool = createSql(config, orm);
    disposers.push(['sql-pool', () => pool.end()]);
    // Redis, or this process in embedded mode: pub/sub, caches, rate limits, delivery's transport.
    const infra = await createInfra(config, log, (name, dispose) => disposers.push([name, dispose]));
    const { pubSub, keys, limits, cache } = infra;
    const em = () => orm.em.fork();

    // A registry per app: a test process runs several servers.
    const metrics = config.metrics.enabled ? new AppMetrics() : undefined;
    const sessions = new SessionStatus(em, infra.sessionCache);
    const auth = new AuthService(em, new TokenSigner(config.jwt.secret, config.jwt.accessTtlS), sessions, config, pubSub, limits);
    const delivery = await createDelivery({
      config, log, transport: infra.delivery, nodeId: randomUUID(),
      sql: () => pool,
      em,
      groupAudience: (groupId, messageId) => services.groups.audienceOf(groupId, messageId),
      syncSecret: createHash('sha256').update(`sync-token:${config.jwt.secret}`).digest(),
      metrics: metrics?.delivery,
    });
    disposers.push(['delivery', () => delivery.dispose()]);
    const { engine, presence } = delivery;
    const userCache = new UserCache(cache, keys, em);
    const notifications = new NotificationService(em, pubSub);
    const friends = new FriendService(em, notifications);
    const groups = new GroupService(em, notifications, friends, cache, keys, config);
    const users = new UserService(em, auth, { friends, groups, notifications }, userCache);
    const lastSeen = new LastSeen(infra.lastSeen);
    disposers.push(['last-seen', async () => lastSeen.stop()]);
    const services: Services = {
      auth, users, presence, engine, friends, notifications, groups, userCache, limits, lastSeen,
      contacts: new Contacts(em),
      messages: new MessageService(em, pool, engine, (from, to) => services.friends.canMessage(from, to), undefined, metrics?.sends),
      reads: new ReadService(em, pubSub),
      typing: new TypingService(friends, groups, pubSub),
      conversations: new ConversationService(em),
    };

    const schema = await buildSchema(pubSub);
    const app = express();
    app.disable('x-powered-by');
    const httpServer = createServer(app);
    let ws: ReturnType<typeof mountGraphQLWs> | undefined;
    let metricsServer: Awaited<ReturnType<AppMetrics['listen']>> | undefined;
    if (metrics) {
      metrics.watch({
        sockets: () => ws?.wss.clients.size ?? 0,
        queues: [delivery.queues.delivery, delivery.queues.fanout],
        pools: { sql: () => pool.stats(), orm: () => ormPoolStats(orm) },
        redis: { ...infra.connections, ...delivery.connections },
      });
      if (config.metrics.port !== undefined) {
        metricsServer = await metrics.listen(config.metrics.port, config.host);
        disposers.push(['metrics-server', () => metricsServer!.close()]);
      } else app.get('/metrics', metrics.handler());
    }
    const apollo = await mountGraphQLHttp({
      config, log, schema, services, httpServer, app,
      ready: async () => ({
        [db.kind]: await orm.isConnected().catch(() => false),
        ...(await infra.ready()),
      }),
      onDrain: async () => ws?.dispose(),
      metrics: metrics?.operations,
    });
    disposers.push(['apollo', () => apollo.stop()]);
    // Last, after every route: unknown paths and stray errors get JSON, never express's HTML page.
    mountFallbacks(app, log);

    // Bound before the WebSocket server attaches, which would re-emit a listen
    // error to graphql-ws (and it prints it with a stack). The mount runs in the
    // same tick as the 'listening' callback, before any connection is accepted.
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(config.port, config.host, () => {
        httpServer.off('error', reject);
        resolve();
      });
    }).catch((e) => {
      throw listenStartupError(config.host, config.port, e);
    });
    const sockets = mountGraphQLWs({
      config, log: log.child({ part: 'ws' }), schema, services, httpServer, pubSub, metrics: metrics?.operations,
    });
    ws = sockets;
    delivery.nodes.onSlowConsumer = (c) =>
      sockets.close(socketIdOf(c.connectionId), SocketClose.SlowConsumer, `slow consumer: more than ${config.sockets.pushQueue} pushes wait unread; reconnect and sync`);
    const port = () => (httpServer.address() as AddressInfo).port;
    log.info({ port: port() }, `im-server listening on http://localhost:${port()}/graphql`);
    if (db.kind === 'sqlite') {
      log.info(
        { mode: 'embedded', data: resolve(db.file) },
        `embedded single node: data in ${resolve(db.file)}; set DATABASE_URL=mariadb://… and REDIS_URL=redis://… to run on MariaDB and Redis (needed for more than one node)`,
      );
    }
    return { config, log, services, httpServer, port, metricsPort: () => metricsServer?.port, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * The process entry: config, then compose, then signal handling. Every way of
 * failing to start ends in one line on stderr and a non-zero exit: 78 for the
 * configuration, 69 for a dependency, the port or the data directory, 70 for
 * anything unforeseen (its stack goes to the log, not to stderr).
 */
async function run(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(78);
    }
    throw e;
  }
  const log = createLogger(config.logLevel);
  let app: App;
  try {
    if (config.env === 'development' && config.jwt.generated) {
      // A random secret per process would sign every client out at each restart.
      config = { ...config, jwt: { ...config.jwt, secret: keptJwtSecret(config.dataDir), generated: false } };
      log.info(`JWT_SECRET is not set: using the development secret kept in ${join(config.dataDir, JWT_SECRET_FILE)}`);
    }
    app = await compose(config, log);
  } catch (e) {
    if (e instanceof StartupError) {
      console.error(`im-server: ${e.message}`);
      process.exit(69);
    }
    log.fatal({ err: e }, 'startup failed');
    console.error(`im-server: startup failed: ${(e as Error)?.message?.split('\n')[0] ?? String(e)}`);
    process.exit(70);
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    app.stop().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

if (require.main === module) {
  run().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
