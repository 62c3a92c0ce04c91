// The API process: `npm run api` (tsx src/api/main.ts).
//
// Reads the environment (src/config/env.ts), brings the read-model schema up to date, and serves
// on CLAIMFLOW_API_HOST:CLAIMFLOW_API_PORT. The Temporal connection is lazy: the API starts (and
// /readyz says 503) while Temporal is still coming up. SIGTERM/SIGINT drain and close cleanly.
// /metrics serves Prometheus metrics; with OTEL_EXPORTER_OTLP_ENDPOINT set, every request is a
// span and the Temporal calls it makes (and the workflows they start) join its trace.
import { trace } from '@opentelemetry/api';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { pino } from 'pino';
import { migrateReadModel } from '../activities/readmodel/migrate.js';
import { readEnv } from '../config/env.js';
import { createMetrics } from '../observability/metrics.js';
import { createTracing } from '../observability/tracing.js';
import { buildApp } from './app.js';

const SHUTDOWN_TIMEOUT_MS = 15_000;
const SERVICE = 'claimflow-api';

const env = readEnv();
const log = pino({ level: env.LOG_LEVEL, base: { service: SERVICE } });

try {
  await migrateReadModel(env.DATABASE_URL, (message) => log.debug({ migration: message }, 'migrate'));
} catch (error) {
  log.fatal({ err: error }, 'could not bring the read model up to date');
  process.exit(1);
}

const pool = new pg.Pool({
  connectionString: env.DATABASE_URL,
  max: env.DATABASE_POOL_SIZE,
  connectionTimeoutMillis: 5_000,
  statement_timeout: 15_000,
  application_name: 'claimflow-api',
});
// An idle client losing its connection must not take the process down; the next query reconnects.
pool.on('error', (error) => log.warn({ err: error }, 'PostgreSQL connection lost'));

const tracing = createTracing(SERVICE, env.OTEL_EXPORTER_OTLP_ENDPOINT);
const metrics = createMetrics();

const connection = Connection.lazy({ address: env.TEMPORAL_ADDRESS });
const client = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE, ...(tracing ? { plugins: [tracing.plugin] } : {}) });

const app = buildApp({
  client,
  pool,
  taskQueue: env.TEMPORAL_TASK_QUEUE,
  fleetWorkflowId: env.MAINTENANCE_FLEET_ID,
  maintenanceMaxConcurrent: env.MAINTENANCE_MAX_CONCURRENT,
  metrics,
  ...(tracing ? { tracer: trace.getTracer(SERVICE) } : {}),
  logger: {
    level: env.LOG_LEVEL,
    base: { service: SERVICE },
    // Request logs carry no bodies; should anything with a webhook secret be logged anyway, it is redacted.
    redact: ['req.headers.authorization', 'secret', '*.secret'],
  },
});

let stopping = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down');
  const force = setTimeout(() => {
    log.error('shutdown took too long; exiting');
    process.exit(1);
  }, SHUTDOWN_TIMEOUT_MS);
  force.unref();
  try {
    await app.close();
    await pool.end();
    await connection.close();
    // Exports the spans still buffered; a collector that is down loses them but fails nothing else.
    await tracing?.shutdown().catch((error: unknown) => log.warn({ err: error }, 'could not export the last spans'));
    log.info('stopped');
  } catch (error) {
    log.error({ err: error }, 'error while shutting down');
    process.exitCode = 1;
  }
}
process.once('SIGTERM', (signal) => void shutdown(signal));
process.once('SIGINT', (signal) => void shutdown(signal));

try {
  const address = await app.listen({ host: env.CLAIMFLOW_API_HOST, port: env.CLAIMFLOW_API_PORT });
  log.info(
    { address, temporal: env.TEMPORAL_ADDRESS, namespace: env.TEMPORAL_NAMESPACE, taskQueue: env.TEMPORAL_TASK_QUEUE, tracing: tracing ? env.OTEL_EXPORTER_OTLP_ENDPOINT : 'off' },
    'claimflow API listening',
  );
} catch (error) {
  log.fatal({ err: error }, 'could not start the API');
  await pool.end().catch(() => undefined);
  await connection.close().catch(() => undefined);
  await tracing?.shutdown().catch(() => undefined);
  process.exit(1);
}
