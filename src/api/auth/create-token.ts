// Creates an API token for a tenant and prints it (only its hash is stored).
//
//   tsx src/api/auth/create-token.ts <tenant> [name]
//
// Reads DATABASE_URL like the API does; brings the schema up to date first.
import pg from 'pg';
import { migrateReadModel } from '../../activities/readmodel/migrate.js';
import { readEnv } from '../../config/env.js';
import { createToken } from './tokens.js';

const [tenant, name = 'default'] = process.argv.slice(2);
if (!tenant) {
  console.error('usage: tsx src/api/auth/create-token.ts <tenant> [name]');
  process.exit(2);
}

const env = readEnv();
await migrateReadModel(env.DATABASE_URL);
const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 1 });
try {
  const token = await createToken(pool, tenant, name);
  process.stdout.write(`${token}\n`);
} catch (error) {
  console.error(`could not create a token: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await pool.end();
}
