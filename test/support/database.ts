import pg from 'pg';
import { migrateReadModel } from '../../src/activities/readmodel/migrate.js';
import { testEnv } from './env.js';

/**
 * An empty, migrated read model next to the run's own database (`<database>_<suffix>`), for
 * tests that must write rows the live worker does not. The test stack drops it with the run's.
 */
export async function scratchReadModel(suffix: string): Promise<string> {
  const url = `${testEnv.databaseUrl}_${suffix}`;
  const admin = new pg.Client({ connectionString: testEnv.databaseUrl });
  await admin.connect();
  try {
    const name = new URL(url).pathname.slice(1);
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  await migrateReadModel(url);
  return url;
}
