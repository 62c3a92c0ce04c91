// npm run readmodel:rebuild [-- --database URL] [-- --query "ClaimflowTenant = 'acme'"]
// Rebuilds the read model from Temporal histories into DATABASE_URL (or --database), migrating
// it first. Safe on a live read model: rows already there are kept, missing ones are added.
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { migrateReadModel } from '../src/activities/readmodel/migrate.js';
import { rebuildReadModel } from '../src/activities/readmodel/rebuild.js';
import { readEnv } from '../src/config/env.js';

const env = readEnv();
const { values } = parseArgs({ options: { database: { type: 'string' }, query: { type: 'string' } } });
const databaseUrl = values.database ?? env.DATABASE_URL;

await migrateReadModel(databaseUrl);
const pool = new pg.Pool({ connectionString: databaseUrl });
const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
try {
  const client = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });
  const result = await rebuildReadModel({ client, pool, ...(values.query ? { query: values.query } : {}), log: (line) => console.log(line) });
  console.log(`rebuilt ${result.instances} instances: ${result.events} events in Temporal, ${result.applied} written to the read model`);
} finally {
  await connection.close();
  await pool.end();
}
