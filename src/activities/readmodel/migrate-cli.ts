import { migrateReadModel } from './migrate.js';

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error('DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/claimflow)');
  process.exit(2);
}
await migrateReadModel(databaseUrl, (message) => console.log(message));
