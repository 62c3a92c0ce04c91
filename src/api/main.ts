// The API process: `npm run api` (tsx src/api/main.ts).
//
// Reads the environment (src/config/env.ts), brings the read-model schema up to date, and serves
// on CLAIMFLOW_API_HOST:CLAIMFLOW_API_PORT. The Temporal connection is lazy: the API starts (and
// /readyz says 503) while Temporal is still coming up. SIGTERM/SIGINT drain and close cleanly.
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { pino } from 'pino';
import { migrateReadModel } from '../activities/readmodel/migrate.js';
import { readEnv } from '../config/env.js';
import { buildApp } from './app.js';

const SHUTDOWN_TIMEOUT_MS = 15_000;

const env = readEnv();
const log = pino({ level: env.LOG_LEVEL, base: { service: 'claimflow-api' } });

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
});
// An idle client losing its connection must not take the process down; the next query reconnects.
pool.on('error', (error) => log.warn({ err: error }, 'PostgreSQL connection lost'));

const connection = Connection.lazy({ address: env.TEMPORAL_ADDRESS });
const client = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });

const app = buildApp({
  client,
  pool,
  taskQueue: env.TEMPORAL_TASK_QUEUE,
  logger: { level: env.LOG_LEVEL, base: { service: 'claimflow-api' }, redact: ['req.headers.authorization'] },
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
  log.info({ address, temporal: env.TEMPORAL_ADDRESS, namespace: env.TEMPORAL_NAMESPACE, taskQueue: env.TEMPORAL_TASK_QUEUE }, 'claimflow API listening');
} catch (error) {
  log.fatal({ err: error }, 'could not start the API');
  await pool.end().catch(() => undefined);
  await connection.close().catch(() => undefined);
  process.exit(1);
}
