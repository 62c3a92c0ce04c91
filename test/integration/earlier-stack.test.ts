// `npm run up` on a new Temporal store beside a read model an earlier stack left (its `.local`
// removed, or another checkout's): the live instances there have no workflow, and up says so
// with the way to start clean. Against the real PostgreSQL, in a scratch read model.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { projectEvents } from '../../src/activities/readmodel/projection.js';
import { defaultMaintenanceWindow, type NewEvent } from '../../src/domain/index.js';
import { earlierStackWarnings } from '../../stack/index.js';
import type { PostgresConfig } from '../../stack/config.js';
import { scratchReadModel } from '../support/database.js';

let pool: pg.Pool;
let postgres: PostgresConfig;
before(async () => {
  const url = await scratchReadModel('earlier_stack');
  pool = new pg.Pool({ connectionString: url, max: 1 });
  const parsed = new URL(url);
  postgres = { host: parsed.hostname, port: Number(parsed.port || 5432), user: decodeURIComponent(parsed.username), database: parsed.pathname.slice(1) };
});
after(async () => pool?.end());

const newTemporal = { temporalIsNew: true, databaseCreated: false };

async function project(instanceId: string, events: NewEvent[], from = 1): Promise<void> {
  const stamped = events.map((event, index) => ({ ...event, seq: from + index, at: new Date(Date.UTC(2026, 0, 1) + (from + index) * 1000).toISOString() }));
  await projectEvents(pool, { instanceId, workflowId: `wf-${instanceId}`, events: stamped });
}

test("up warns of an earlier stack's live instances only when its Temporal store is new and it did not create the database", async () => {
  assert.deepEqual(await earlierStackWarnings(postgres, newTemporal), [], 'a migrated read model without instances');

  const spec = {
    name: 'orders', engine: 'postgres', version: '15.10', size: 'small', instances: 1, autoMinorUpgrades: false,
    deletionProtection: false, maintenanceWindow: defaultMaintenanceWindow('acme', 'orders'),
  } as const;
  const by = { actor: 'acme:test', requestId: 'create' };
  await project('i-live', [{ type: 'InstanceRequested', ...by, data: { instanceId: 'i-live', tenant: 'acme', spec } }]);
  const [warning, ...more] = await earlierStackWarnings(postgres, newTemporal);
  assert.equal(more.length, 0);
  assert.match(warning ?? '', new RegExp(`database ${postgres.database}\\) holds 1 instance of an earlier stack`));
  assert.match(warning ?? '', new RegExp(`npm run down; psql -h ${postgres.host} -U ${postgres.user} -c 'DROP DATABASE ${postgres.database} WITH \\(FORCE\\)'; npm run up`));

  // The same Temporal store as before, or a database this up created: nothing was left behind.
  assert.deepEqual(await earlierStackWarnings(postgres, { temporalIsNew: false, databaseCreated: false }), []);
  assert.deepEqual(await earlierStackWarnings(postgres, { temporalIsNew: true, databaseCreated: true }), []);

  // A deleted instance is not one of them.
  const bye = { actor: 'acme:test', requestId: 'bye' };
  await project('i-live', [
    { type: 'InstanceReady', ...by, data: { version: '15.10', connection: { host: 'h', port: 5432, database: 'postgres', user: 'postgres', secretName: 's' } } },
    { type: 'DeprovisionRequested', ...bye, data: { finalBackup: false } },
    { type: 'ClaimDeleted', ...bye, data: { claimName: 'orders' } },
    { type: 'InstanceDeleted', ...bye, data: {} },
  ], 2);
  assert.deepEqual(await earlierStackWarnings(postgres, newTemporal), []);
});
