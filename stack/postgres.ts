// PostgreSQL is the machine's own cluster (Debian's postgresql package), not a process of ours:
// we only make sure it runs and that the read-model database exists. `down` leaves it running.
import { readdirSync } from 'node:fs';
import pg from 'pg';
import type { PostgresConfig } from './config.js';
import { run, StackError, waitFor } from './util.js';

function client(c: PostgresConfig, database = 'postgres'): pg.Client {
  return new pg.Client({ host: c.host, port: c.port, user: c.user, database, connectionTimeoutMillis: 3000 });
}

async function reachable(c: PostgresConfig): Promise<boolean> {
  const db = client(c);
  try {
    await db.connect();
    await db.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await db.end().catch(() => undefined);
  }
}

/** Starts the machine's cluster the way Debian does when it is down (e.g. after a reboot). */
async function startCluster(): Promise<void> {
  let versions: string[];
  try {
    versions = readdirSync('/etc/postgresql').sort();
  } catch {
    throw new StackError('PostgreSQL is not reachable and /etc/postgresql does not exist: install PostgreSQL (apt-get install postgresql)');
  }
  const version = versions.at(-1);
  if (!version) throw new StackError('PostgreSQL is not reachable and no cluster is configured under /etc/postgresql');
  const r = await run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { timeoutMs: 60_000 });
  // exit 2 = already running (e.g. another `up` started it a moment ago)
  if (r.code !== 0 && r.code !== 2) throw new StackError(`pg_ctlcluster ${version} main start failed: ${(r.stderr || r.stdout).trim()}`);
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** PostgreSQL reachable and the database present; returns whether it had to create it. */
export async function ensureDatabase(c: PostgresConfig, signal?: AbortSignal): Promise<{ created: boolean; startedCluster: boolean }> {
  let startedCluster = false;
  if (!(await reachable(c))) {
    await startCluster();
    startedCluster = true;
    await waitFor(() => reachable(c), { what: `PostgreSQL on ${c.host}:${c.port}`, timeoutMs: 30_000, hint: 'see /var/log/postgresql/', signal });
  }
  const db = client(c);
  await db.connect();
  try {
    const exists = await db.query('SELECT 1 FROM pg_database WHERE datname = $1', [c.database]);
    if (exists.rowCount) return { created: false, startedCluster };
    try {
      await db.query(`CREATE DATABASE ${quoteIdent(c.database)}`);
    } catch (e) {
      // 42P04 duplicate_database: a concurrent `up` won the race; the database exists, fine.
      if ((e as { code?: string }).code !== '42P04') throw e;
    }
    return { created: true, startedCluster };
  } finally {
    await db.end();
  }
}

/**
 * Drops a test stack's database and the ones tests derived from its name (`<name>_rebuild`, ...):
 * the name is random per run, so its prefix is ours alone. FORCE ends sessions a test forgot.
 * Returns the names dropped.
 */
export async function dropDatabase(c: PostgresConfig): Promise<string[]> {
  const db = client(c);
  await db.connect();
  try {
    const like = `${c.database.replace(/[\\_%]/g, (ch) => `\\${ch}`)}\\_%`;
    const derived = await db.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [like]);
    const names = [c.database, ...derived.rows.map((r) => r.datname)];
    for (const name of names) await db.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    return names;
  } finally {
    await db.end();
  }
}

/**
 * Instances not deleted in the read model; 0 before its first migration. The read model lives in
 * the machine's PostgreSQL, not in `.local`, so it outlives a removed `.local` and is shared by
 * two checkouts: `up` counts what an earlier stack left when its own Temporal is new.
 */
export async function liveInstanceCount(c: PostgresConfig): Promise<number> {
  const db = client(c, c.database);
  await db.connect();
  try {
    const table = await db.query<{ present: boolean }>("SELECT to_regclass('public.instances') IS NOT NULL AS present");
    if (!table.rows[0]?.present) return 0;
    const live = await db.query<{ count: string }>("SELECT count(*) FROM instances WHERE phase <> 'deleted'");
    return Number(live.rows[0]?.count ?? 0);
  } finally {
    await db.end();
  }
}

/** For `status`: true/false whether the database exists, undefined when PostgreSQL is unreachable. */
export async function databaseExists(c: PostgresConfig): Promise<boolean | undefined> {
  const db = client(c);
  try {
    await db.connect();
    const r = await db.query('SELECT 1 FROM pg_database WHERE datname = $1', [c.database]);
    return (r.rowCount ?? 0) > 0;
  } catch {
    return undefined;
  } finally {
    await db.end().catch(() => undefined);
  }
}
