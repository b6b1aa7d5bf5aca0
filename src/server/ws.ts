import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import { GraphQLError, type GraphQLSchema, getOperationAST, NoSchemaIntrospectionCustomRule, parse, specifiedRules, validate, type DocumentNode } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AccessClaims } from '../auth/tokens';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { limitRules } from '../schema/limits';
import type { AppPubSub } from '../pubsub';
import type { Services } from '../services';
import { coalesceWrites } from './coalesce-writes';
import { originAllowed } from './cors';
import { formatForClient } from './format-error';
import type { OperationMetrics } from './metrics';
import { INVALID_OPERATION, operationLabeler } from './operation-label';
import { compiledOperations } from './jit';
import { bearer, contextFor } from './http-context';
import { clientIp } from '../limits/client-ip';
import { SocketCaps, SocketClose } from './socket-caps';
import { utf8FramesOnly } from './utf8-frames';

type Extra = {
  socket: WebSocket;
  request: IncomingMessage;
  auth?: AccessClaims;
  connectionId?: string;
  expiry?: NodeJS.Timeout;
  /** Ids of this socket's subscriptions (capped by WS_MAX_SUBSCRIPTIONS); ended ones leave ctx.subscriptions. */
  streams?: Set<string>;
  /** Frees the socket's places in the per-user and per-device caps. */
  release?: () => void;
  /** This socket's open subscriptions (by operation id), each with the call that ends its count. */
  subs?: Map<string, () => void>;
  /** Set once LastSeen counts this socket open, so its close is counted once. */
  seen?: string;
  [key: string]: unknown;
};

/**
 * graphql-ws on the HTTP server's /graphql path. The token comes in
 * connection_init's payload; the same limits as over HTTP run in onSubscribe.
 */
export function mountGraphQLWs(d: {
  config: Config;
  log: Logger;
  schema: GraphQLSchema;
  services: Services;
  httpServer: Server;
  pubSub: AppPubSub;
  /** Counts operations and open subscriptions (absent: nothing is counted). */
  metrics?: OperationMetrics;
}) {
  const { config, log, metrics } = d;
  // A revoked session's sockets close at once, not when their access token expires.
  const bySession = new Map<string, Set<WebSocket>>();
  const byConnection = new Map<string, WebSocket>();
  const closeSession = (sessionId: string) => {
    for (const socket of bySession.get(sessionId) ?? []) socket.close(CloseCode.Forbidden, 'session revoked');
  };
  const revocations = d.pubSub.subscribe('SESSION_REVOKED');
  void (async () => {
    for await (const { sessionId } of revocations) closeSession(sessionId);
  })();
  // The revocation message can be lost (a Redis restart): every open session is checked again now and then.
  const recheck = setInterval(() => {
    const ids = [...bySession.keys()];
    if (!ids.length) return;
    d.services.auth.sessions.liveOf(ids).then(
      (live) => {
        for (const sid of ids) if (!live.has(sid)) closeSession(sid);
      },
      (err) => log.warn({ err }, 'session re-check failed'),
    );
  }, config.sessions.recheckS * 1000);
  recheck.unref();
  const wss = new WebSocketServer({
    server: d.httpServer,
    path: '/graphql',
    maxPayload: config.ws.maxPayload,
    // The CORS allowlist, for browsers' upgrades (which carry an Origin; other clients send none).
    verifyClient: (info, done) => (originAllowed(config.cors, info.origin, info.req.headers.host) ? done(true) : done(false, 403, 'origin not allowed')),
  });
  wss.on('connection', coalesceWrites); // before graphql-ws's own listener: no frame is sent earlier
  const ipOf = clientIp(config.trustProxy);
  const caps = new SocketCaps(config.sockets);
  const ips = new WeakMap<WebSocket, string>();
  wss.on('connection', (socket, request) => {
    quietProtocolErrors(socket, log);
    utf8FramesOnly(socket, log);
    const ip = ipOf(request);
    const release = caps.admitIp(ip);
    if (!release) return socket.close(SocketClose.TooMany, 'too many sockets from this address');
    ips.set(socket, ip);
    socket.once('close', release);
  });
  // As over HTTP (Apollo's `introspection: false`): no __schema/__type when introspection is off.
  const rules = [
    ...specifiedRules,
    ...(config.graphql.introspection ? [] : [NoSchemaIntrospectionCustomRule]),
    ...limitRules(config.limits),
  ];

  const validated = new Map<string, DocumentNode>();
  const label = operationLabeler(d.schema);
  /** A refused operation, counted before graphql-ws sends its errors. */
  const refuse = (errors: GraphQLError[], operation = INVALID_OPERATION): GraphQLError[] => {
    metrics?.operation('ws', operation, String(errors[0]?.extensions?.code ?? 'GRAPHQL_VALIDATION_FAILED'));
    return errors;
  };
  const formatOpts = {
    production: config.env === 'production',
    onUnexpected: (err: unknown) => log.error({ err }, 'unexpected error in an operation'),
  };

  const cleanup = useServer<Record<string, unknown> | undefined, Extra>(
    {
      schema: d.schema,
      ...compiledOperations(),
      connectionInitWaitTimeout: config.ws.initTimeoutMs,
      onConnect: async (ctx) => {
        const p = ctx.connectionParams ?? {};
        const token = bearer(p.authorization ?? p.Authorization ?? p.token);
        if (!token) return false;
        try {
          ctx.extra.auth = await d.services.auth.authenticate(token);
        } catch {
          return false; // 4403 Forbidden
        }
        const admitted = caps.admitSession(ctx.extra.auth.userId, ctx.extra.auth.deviceId);
        if ('refused' in admitted) {
          ctx.extra.socket.close(SocketClose.TooMany, admitted.refused);
          return false;
        }
        ctx.extra.release = admitted.release;
        ctx.extra.connectionId = randomUUID();
        byConnection.set(ctx.extra.connectionId, ctx.extra.socket);
        // Close when the access token expires; the client reconnects with a fresh one.
        const ms = ctx.extra.auth.exp * 1000 - Date.now();
        ctx.extra.expiry = setTimeout(() => ctx.extra.socket.close(CloseCode.Forbidden, 'access token expired'), Math.max(ms, 0));
        ctx.extra.expiry.unref();
        const sid = ctx.extra.auth.sessionId;
        bySession.set(sid, (bySession.get(sid) ?? new Set()).add(ctx.extra.socket));
        ctx.extra.seen = ctx.extra.auth.userId;
        d.services.lastSeen.opened(ctx.extra.seen);
        return true;
      },
      onClose: (ctx) => {
        clearTimeout(ctx.extra.expiry);
        ctx.extra.release?.();
        if (ctx.extra.connectionId) byConnection.delete(ctx.extra.connectionId);
        const sid = ctx.extra.auth?.sessionId;
        const set = sid ? bySession.get(sid) : undefined;
        set?.delete(ctx.extra.socket);
        if (sid && set && !set.size) bySession.delete(sid);
        if (ctx.extra.seen) d.services.lastSeen.closed(ctx.extra.seen);
        ctx.extra.seen = undefined;
      },
      // A subscription's stream is counted once, when it starts; its ending ends its count.
      onOperation: (ctx, id, _payload, args, result) => {
        if (!metrics || !(Symbol.asyncIterator in result)) return;
        const field = label.of(args.document, args.operationName);
        metrics.operation('ws', field, 'ok');
        (ctx.extra.subs ??= new Map()).set(id, metrics.subscribed(field));
      },
      onComplete: (ctx, id) => {
        ctx.extra.streams?.delete(id);
        const ended = ctx.extra.subs?.get(id);
        if (!ended) return;
        ended();
        ctx.extra.subs!.delete(id);
      },
      // The same error codes as over HTTP (see format-error.ts).
      onNext: (ctx, id, _payload, args, result) => {
        const counted = !metrics || ctx.extra.subs?.has(id); // a pushed event, not an operation's result
        if (!result.errors?.length) {
          if (!counted) metrics.operation('ws', label.of(args.document, args.operationName), 'ok');
          return;
        }
        // No data at all is a request error (bad or missing variables): the client's input, as Apollo reports it.
        const opts = result.data === undefined ? { ...formatOpts, fallbackCode: 'BAD_USER_INPUT' } : formatOpts;
        const errors = result.errors.map((e) => formatForClient(e.toJSON(), e, opts));
        if (!counted) metrics.operation('ws', label.of(args.document, args.operationName), String(errors[0].extensions?.code));
        return { ...result, errors };
      },
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => formatForClient(e.toJSON(), e, formatOpts)),
      onSubscribe: async (ctx, id, payload) => {
        // Clients repeat the same few operations: parse and validate each text once.
        let document = validated.get(payload.query);
        if (!document) {
          try {
            document = parse(payload.query, { maxTokens: config.limits.tokens });
          } catch (e) {
            const message = e instanceof GraphQLError ? e.message : 'cannot parse the operation';
            const code = /tokens/.test(message) ? 'LIMIT_EXCEEDED' : 'GRAPHQL_PARSE_FAILED';
            return refuse([new GraphQLError(message, { extensions: { code } })]);
          }
          const errors = validate(d.schema, document, rules);
          if (errors.length) {
            return refuse(
              errors.map((e) =>
                e.extensions?.code ? e : new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }),
              ),
              label.of(document, payload.operationName),
            );
          }
          if (validated.size >= 1000) validated.delete(validated.keys().next().value as string);
          validated.set(payload.query, document);
        }
        // Which operation to run, reported as Apollo does over HTTP (graphql-ws would send a codeless error).
        const operation = getOperationAST(document, payload.operationName ?? undefined);
        if (!operation) {
          const named = payload.operationName ? `Unknown operation named "${payload.operationName}".` : 'Must provide operation name if query contains multiple operations.';
          return refuse([new GraphQLError(named, { extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } })]);
        }
        // Subscriptions hold server state for the socket's life: capped. Queries and mutations end, and are rate limited.
        if (operation.operation === 'subscription') {
          const streams = (ctx.extra.streams ??= new Set());
          for (const s of streams) if (!(s in ctx.subscriptions)) streams.delete(s);
          if (streams.size >= config.sockets.subscriptions) {
            ctx.extra.socket.close(SocketClose.TooMany, `too many subscriptions on this socket (at most ${config.sockets.subscriptions})`);
            return [new GraphQLError('too many subscriptions on this socket', { extensions: { code: 'RATE_LIMITED' } })];
          }
          streams.add(id);
        }
        const contextValue = await contextFor(d.services, undefined, { connectionId: ctx.extra.connectionId, ip: ips.get(ctx.extra.socket) ?? 'unknown' });
        contextValue.auth = ctx.extra.auth ?? null;
        return {
          schema: d.schema,
          document,
          variableValues: payload.variables ?? undefined,
          operationName: payload.operationName ?? undefined,
          contextValue,
        };
      },
    },
    wss,
  );

  return {
    wss,
    /** Closes one socket by its connection id (e.g. a slow consumer); false when it is not on this node. */
    close(connectionId: string, code: number, reason: string): boolean {
      const socket = byConnection.get(connectionId);
      socket?.close(code, reason);
      return !!socket;
    },
    async dispose() {
      clearInterval(recheck);
      await revocations.return?.();
      await cleanup.dispose();
    },
  };
}

/**
 * A client that breaks the WebSocket protocol (an oversized frame, bad UTF-8
 * in a text frame, a bad opcode) is already being closed by ws with the fitting code (1009,
 * 1007, 1002) when ws emits the error; graphql-ws would then print it with its
 * stack to stderr, which any client could use to flood the log. Such errors
 * go to the log at debug level instead; every other error goes on as before.
 */
function quietProtocolErrors(socket: WebSocket, log: Logger): void {
  const emit = socket.emit.bind(socket);
  socket.emit = ((event: string | symbol, ...args: unknown[]) => {
    const code = (args[0] as { code?: unknown } | undefined)?.code;
    if (event === 'error' && typeof code === 'string' && code.startsWith('WS_ERR_')) {
      log.debug({ code }, 'a client broke the WebSocket protocol');
      return true;
    }
    return emit(event, ...args);
  }) as typeof socket.emit;
}
