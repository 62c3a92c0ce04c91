// The development tenant's API token for `npm run up`: created once, kept in .local/dev-token, and
// created again if the read model no longer knows it (for example after its database was dropped).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { migrateReadModel } from '../src/activities/readmodel/migrate.js';
import { createToken, hashToken } from '../src/api/auth/tokens.js';

export const DEV_TENANT = 'dev';

export async function ensureDevToken(stateDir: string, databaseUrl: string): Promise<{ token: string; path: string; created: boolean }> {
  const path = join(stateDir, 'dev-token');
  await migrateReadModel(databaseUrl);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const existing = existsSync(path) ? readFileSync(path, 'utf8').trim() : '';
    if (existing) {
      const { rowCount } = await pool.query('SELECT 1 FROM api_tokens WHERE token_hash = $1', [hashToken(existing)]);
      if (rowCount) return { token: existing, path, created: false };
    }
    const token = await createToken(pool, DEV_TENANT, 'dev');
    writeFileSync(path, `${token}\n`, { mode: 0o600 });
    return { token, path, created: true };
  } finally {
    await pool.end();
  }
}
