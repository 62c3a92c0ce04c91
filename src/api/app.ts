import { randomUUID } from 'node:crypto';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { Tracer } from '@opentelemetry/api';
import type { Client } from '@temporalio/client';
import Fastify, { type FastifyServerOptions } from 'fastify';
import {
  jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, validatorCompiler, type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Pool } from 'pg';
import { z } from 'zod';
import type { Metrics } from '../observability/metrics.js';
import { FLEET_WORKFLOW_ID, type LifecycleSettings } from '../workflows/messages.js';
import { authenticator } from './auth/authenticate.js';
import { TokenStore } from './auth/tokens.js';
import type { ApiContext } from './context.js';
import { invalidRequest, notFound, toApiError } from './errors.js';
import { IdempotencyStore } from './idempotency.js';
import { unstorableStrings } from './json.js';
import { SubscriptionStore } from './notifications.js';
import { observeRequests, recordRequestError, traceRequests } from './observability.js';
import { ReadModel } from './readmodel.js';
import { commandRoutes } from './routes/commands.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { instanceRoutes } from './routes/instances.js';
import { maintenanceRoutes } from './routes/maintenance.js';
import { notificationRoutes } from './routes/notifications.js';
import { operationRoutes } from './routes/operations.js';
import { InstanceCommands, MaintenanceFleet } from './temporal.js';

// The HTTP API: thin routes over two ports, the instance workflows (commands) and the read model
// (queries). Everything a client sends is checked against the domain's zod schemas.

export interface AppDeps {
  client: Client;
  pool: Pool;
  taskQueue: string;
  /** "Now", for the next maintenance window. */
  clock?: () => Date;
  /** Fastify/pino logger options; false (the default) logs nothing. */
  logger?: FastifyServerOptions['logger'];
  /** Passed into the workflow of each new instance (tests use short timeouts). */
  lifecycleSettings?: Partial<LifecycleSettings>;
  /** Longest wait for Temporal on one request (an unanswered call becomes a 503). */
  temporalTimeoutMs?: number;
  /** Largest request body accepted. */
  bodyLimit?: number;
  /** How often an event stream (?follow=true) polls the read model. */
  eventPollIntervalMs?: number;
  /** The fleet maintenance coordinator's workflow id (MAINTENANCE_FLEET_ID). */
  fleetWorkflowId?: string;
  /** The coordinator's cap when the API is the first to start it (MAINTENANCE_MAX_CONCURRENT). */
  maintenanceMaxConcurrent?: number;
  /** Serves GET /metrics from its registry and observes every request; none: no /metrics. */
  metrics?: Metrics;
  /**
   * Traces every request (a span named "<METHOD> <route>", active while the handler runs, so the
   * Temporal client's spans are its children); none: no request spans.
   */
  tracer?: Tracer;
}

export const DEFAULT_MAINTENANCE_MAX_CONCURRENT = 10;

export const DEFAULT_BODY_LIMIT = 64 * 1024;
const REQUEST_ID = /^[\w.:-]{1,128}$/;

export function buildApp(deps: AppDeps) {
  const app = Fastify({
    logger: deps.logger ?? false,
    bodyLimit: deps.bodyLimit ?? DEFAULT_BODY_LIMIT,
    requestIdHeader: false,
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  if (deps.tracer) traceRequests(app, deps.tracer);
  if (deps.metrics) observeRequests(app, deps.metrics);

  const closing = new AbortController();
  const temporalTimeoutMs = deps.temporalTimeoutMs ?? 10_000;
  const ctx: ApiContext = {
    reads: new ReadModel(deps.pool),
    commands: new InstanceCommands(deps.client, deps.taskQueue, temporalTimeoutMs),
    fleet: new MaintenanceFleet(
      {
        client: deps.client,
        fleetWorkflowId: deps.fleetWorkflowId ?? FLEET_WORKFLOW_ID,
        taskQueue: deps.taskQueue,
        defaults: { maxConcurrent: deps.maintenanceMaxConcurrent ?? DEFAULT_MAINTENANCE_MAX_CONCURRENT, paused: false },
      },
      temporalTimeoutMs,
    ),
    idempotency: new IdempotencyStore(deps.pool),
    subscriptions: new SubscriptionStore(deps.pool),
    clock: deps.clock ?? (() => new Date()),
    ...(deps.lifecycleSettings ? { lifecycleSettings: deps.lifecycleSettings } : {}),
    pollIntervalMs: deps.eventPollIntervalMs ?? 500,
    closing: closing.signal,
  };
  app.addHook('preClose', (done) => {
    closing.abort();
    done();
  });

  // An empty body is "no body" (POST .../restart with Content-Type: application/json and nothing else).
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    void parseJson(request, text, (error, body) => {
      if (error) return done(error, undefined);
      const unstorable = unstorableStrings(body);
      if (unstorable.length > 0) return done(invalidRequest('the request body holds strings that cannot be stored', unstorable), undefined);
      done(null, body);
    });
  });

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  app.setErrorHandler(async (error, request, reply) => {
    const apiError = toApiError(error);
    if (apiError.statusCode >= 500) {
      recordRequestError(request, error);
      request.log.error({ err: error }, `${apiError.code}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (apiError.retryAfterSeconds !== undefined) reply.header('retry-after', String(apiError.retryAfterSeconds));
    return reply.code(apiError.statusCode).type('application/json').send(apiError.body(request.id));
  });

  app.setNotFoundHandler(async (request, reply) => {
    const error = notFound(`no route ${request.method} ${request.url.split('?')[0]}`);
    return reply.code(404).send(error.body(request.id));
  });

  void app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'claimflow',
        description: 'Managed PostgreSQL instances: commands are accepted with 202 and an operation to follow; reads come from the read model.',
        version: '1',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  void app.register(fastifySwaggerUi, { routePrefix: '/docs' });

  void app.register(async (root) => {
    root.get('/openapi.json', { schema: { hide: true } }, (_request, reply) => reply.send(app.swagger()));
    const { metrics } = deps;
    if (metrics) {
      root.get(
        '/metrics',
        {
          schema: {
            summary: 'Prometheus metrics',
            description: 'The API\'s own (claimflow_api_request_duration_seconds by method, route and status) and the process\'s. No authentication.',
            security: [],
            produces: ['text/plain'],
            response: { 200: z.string().describe('Prometheus text exposition format') },
          },
        },
        async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
      );
    }
    await root.register(healthRoutes(ctx));
  });

  void app.register(
    async (v1) => {
      v1.addHook('onRequest', authenticator(new TokenStore(deps.pool)));
      await v1.register(instanceRoutes(ctx));
      await v1.register(commandRoutes(ctx));
      await v1.register(operationRoutes(ctx));
      await v1.register(eventRoutes(ctx));
      await v1.register(maintenanceRoutes(ctx));
      await v1.register(notificationRoutes(ctx));
    },
    { prefix: '/v1' },
  );

  return app;
}

export type App = ReturnType<typeof buildApp>;
