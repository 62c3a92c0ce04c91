import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { createToken } from '../../src/api/auth/tokens.js';
import { migrateReadModel } from '../../src/activities/readmodel/migrate.js';
import { onCleanup, sleep } from './cleanup.js';
import type { BenchStack } from './stack.js';

export async function temporalClient(stack: BenchStack): Promise<Client> {
  const connection = await Connection.connect({ address: stack.temporalAddress });
  onCleanup('temporal client', () => connection.close());
  return new Client({ connection, namespace: stack.config.temporalNamespace });
}

/**
 * A pool for a bench's throwaway database. pg-pool's end() resolves before its idle clients have
 * closed, so the teardown's `DROP DATABASE ... WITH (FORCE)` can end one mid-close; without a
 * listener that 'error' would crash the bench process after its measurements.
 */
export function benchPool(connectionString: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString, max });
  pool.on('error', () => undefined);
  return pool;
}

/** The read model's schema (as the worker and API would migrate it) and a pool on it. */
export async function readModelPool(stack: BenchStack, max = 4): Promise<pg.Pool> {
  await migrateReadModel(stack.databaseUrl);
  const pool = benchPool(stack.databaseUrl, max);
  onCleanup('bench pg pool', () => pool.end());
  return pool;
}

export async function tokensFor(pool: pg.Pool, tenants: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const tenant of tenants) out[tenant] = await createToken(pool, tenant, 'bench');
  return out;
}

/**
 * Polls until `probe` returns true; logs progress every 5 s; throws after timeoutMs.
 * `progress` describes the state for the log line.
 */
export async function waitUntil(what: string, probe: () => Promise<boolean>, options: { timeoutMs: number; everyMs?: number; progress?: () => Promise<string> | string; log: (line: string) => void }): Promise<void> {
  const started = Date.now();
  let lastLog = started;
  for (;;) {
    if (await probe()) return;
    if (Date.now() - started > options.timeoutMs) throw new Error(`timed out after ${Math.round(options.timeoutMs / 1000)} s waiting for ${what}${options.progress ? ` (${await options.progress()})` : ''}`);
    if (Date.now() - lastLog >= 5000 && options.progress) {
      lastLog = Date.now();
      options.log(`waiting for ${what}: ${await options.progress()}`);
    }
    await sleep(options.everyMs ?? 250);
  }
}

/** Runs `work` over items with at most `concurrency` at once. */
export async function pool<T, R>(items: T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= items.length) return;
        results[i] = await work(items[i]!, i);
      }
    }),
  );
  return results;
}

export const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
