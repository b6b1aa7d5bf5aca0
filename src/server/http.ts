import { isUtf8 } from 'node:buffer';
import type { Server } from 'node:http';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type Express } from 'express';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import type { Config } from '../config';
import { ErrorCode } from '../errors';
import type { Logger } from '../logger';
import type { Ctx } from '../schema/context';
import { limitRules } from '../schema/limits';
import type { Services } from '../services';
import { clientIp } from '../limits/client-ip';
import { corsMiddleware } from './cors';
import { formatForClient } from './format-error';
import { graphqlErrors, onlyMountPath } from './http-errors';
import type { OperationMetrics } from './metrics';
import { operationsPlugin } from './operation-label';
import { bearer, contextFor } from './http-context';

export interface HttpDeps {
  config: Config;
  log: Logger;
  schema: GraphQLSchema;
  services: Services;
  httpServer: Server;
  app: Express;
  ready: () => Promise<Record<string, boolean>>;
  /** Called when Apollo drains, so the socket server stops with it. */
  onDrain: () => Promise<void>;
  /** Counts each operation (absent: nothing is counted). */
  metrics?: OperationMetrics;
}

export async function mountGraphQLHttp(d: HttpDeps): Promise<ApolloServer<Ctx>> {
  const { config, log } = d;
  const ipOf = clientIp(config.trustProxy);
  const apollo = new ApolloServer<Ctx>({
    schema: d.schema,
    introspection: config.graphql.introspection,
    csrfPrevention: true,
    // main.ts owns SIGTERM/SIGINT and stops everything in order.
    stopOnTerminationSignals: false,
    allowBatchedHttpRequests: false,
    // Clients send whole operations (the socket has no persisted queries either); a hash is refused with its own code.
    persistedQueries: false,
    validationRules: limitRules(config.limits),
    parseOptions: { maxTokens: config.limits.tokens },
    // Stack traces carry the server's file paths: development only (not test, not production).
    includeStacktraceInErrorResponses: config.env === 'development',
    // No "Did you mean …" in validation errors: they would spell out the schema introspection hides.
    hideSchemaDetailsFromClientErrors: config.env === 'production',
    logger: log.child({ part: 'apollo' }),
    formatError: (formatted, error) =>
      formatForClient(formatted, error, {
        production: config.env === 'production',
        onUnexpected: (err) => log.error({ err }, 'unexpected error in an operation'),
      }),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer: d.httpServer }),
      // No cache hints are used; the default plugin would wrap every resolver of the schema
      // the socket shares, in place, at the first HTTP request.
      ApolloServerPluginCacheControlDisabled(),
      { serverWillStart: async () => ({ drainServer: d.onDrain }) },
      subscriptionsOnTheSocket,
      ...(d.metrics ? [operationsPlugin(d.metrics, d.schema)] : []),
      config.graphql.landingPage
        ? ApolloServerPluginLandingPageLocalDefault({ embed: true })
        : ApolloServerPluginLandingPageDisabled(),
    ],
  });
  await apollo.start();

  d.app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  d.app.get('/readyz', async (_req, res) => {
    const parts = await d.ready();
    const ok = Object.values(parts).every(Boolean);
    res.status(ok ? 200 : 503).json({ ok, ...parts });
  });
  d.app.use(
    '/graphql',
    corsMiddleware(config.cors),
    onlyMountPath,
    express.json({ limit: config.http.maxBody, verify: utf8Only }),
    expressMiddleware(apollo, {
      context: async ({ req }) => contextFor(d.services, bearer(req.headers.authorization), { ip: ipOf(req) }),
    }),
    // A body the parser refused (too large, not JSON, ...) is answered as a GraphQL error.
    graphqlErrors(log),
  );
  return apollo;
}

/**
 * Refuses a subscription POSTed over HTTP before it runs: 400 BAD_REQUEST
 * saying it belongs on the WebSocket (over GET Apollo refuses it already, 405). Apollo would execute it
 * like a query, its resolver would yield no value and graphql-js would raise a
 * non-null error, answered INTERNAL_SERVER_ERROR and logged at error level
 * for what is a client's mistake. The code is set here, so formatError keeps it.
 */
const subscriptionsOnTheSocket: ApolloServerPlugin<Ctx> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ operation }) {
        if (operation?.operation !== 'subscription') return;
        throw new GraphQLError(
          'subscriptions run over WebSocket (graphql-transport-ws) on this same path, not over HTTP: open a socket to /graphql and subscribe there',
          { extensions: { code: ErrorCode.BAD_REQUEST, http: { status: 400 } } },
        );
      },
    };
  },
};

/**
 * Refuses a JSON body that is not valid UTF-8 (400 BAD_REQUEST): decoding
 * would turn each bad byte into U+FFFD, and text would be stored other than
 * it was sent (the socket closes 1007 instead: ws checks text frames, utf8-frames.ts binary ones).
 */
function utf8Only(_req: unknown, _res: unknown, body: Buffer): void {
  if (!isUtf8(body)) throw Object.assign(new Error('the request body is not valid UTF-8'), { status: 400, expose: true });
}
