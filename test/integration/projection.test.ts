import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { ProjectionGapError, projectEvents } from '../../src/activities/readmodel/projection.js';
import { defaultMaintenanceWindow, reduceAll, type InstanceEvent, type NewEvent, type ResolvedSpec } from '../../src/domain/index.js';
import { scratchReadModel } from '../support/database.js';

// The projection writes a batch in one conditional statement on the state it read: these check,
// against the real PostgreSQL, that how the events are batched and who else writes at the same
// time change nothing in the rows.

let pool: pg.Pool;
before(async () => {
  pool = new pg.Pool({ connectionString: await scratchReadModel('projection'), max: 6 });
});
after(async () => pool?.end());

/** Provisioning, a maintenance (backup, security upgrade), a second backup, retention deleting the first. */
function history(tenant: string, name: string, instanceId: string): InstanceEvent[][] {
  const spec: ResolvedSpec = {
    name, engine: 'postgres', version: '16.6', size: 'small', instances: 1, autoMinorUpgrades: false, deletionProtection: false,
    maintenanceWindow: defaultMaintenanceWindow('proj', 'fixed'), backup: { schedule: '0 3 * * *', retention: 1 },
  };
  const by = (requestId: string) => ({ actor: 'tester', requestId });
  const run = 'run-1';
  const batches: NewEvent[][] = [
    [{ type: 'InstanceRequested', ...by('p'), data: { instanceId, tenant, spec } }],
    [{ type: 'ClaimApplied', ...by('p'), data: { namespace: `tenant-${tenant}`, claimName: name, size: 'small', version: '16.6' } }],
    [{ type: 'InstanceReady', ...by('p'), data: { version: '16.6', connection: { host: 'h', port: 5432, database: 'postgres', user: 'postgres', secretName: 's' } } }],
    [{ type: 'MaintenanceWindowOpened', ...by(run), data: { runId: run, trigger: 'schedule', windowEndsAt: '2026-01-01T04:00:00.000Z' } }],
    [
      { type: 'MaintenanceStarted', ...by(run), data: { runId: run, plan: 'backup, then security upgrade' } },
      { type: 'BackupRequested', ...by(run), data: { backupName: 'b1', purpose: 'maintenance' } },
    ],
    [
      { type: 'BackupCompleted', ...by(run), data: { backupName: 'b1', purpose: 'maintenance', sizeBytes: 10, compressedBytes: 5, postgresVersion: '16.6', completedAt: '2026-01-01T03:00:10.000Z' } },
      { type: 'UpgradeRequested', ...by(run), data: { kind: 'security', fromVersion: '16.6', toVersion: '16.6' } },
      { type: 'UpgradeStarted', ...by(run), data: { kind: 'security', dbOpsName: 'u1' } },
    ],
    [
      { type: 'UpgradeCompleted', ...by(run), data: { kind: 'security', dbOpsName: 'u1', version: '16.6', patchLevel: 1 } },
      { type: 'MaintenanceCompleted', ...by(run), data: { runId: run, summary: 'backup b1, security patch level 1' } },
    ],
    [{ type: 'BackupRequested', ...by('s'), data: { backupName: 'b2', purpose: 'scheduled' } }],
    [{ type: 'BackupCompleted', ...by('s'), data: { backupName: 'b2', purpose: 'scheduled', sizeBytes: 11, compressedBytes: 6, postgresVersion: '16.6', completedAt: '2026-01-02T03:00:10.000Z' } }],
    [{ type: 'BackupDeleted', ...by('s'), data: { backupName: 'b1', cause: 'retention' } }],
  ];
  let seq = 0;
  return batches.map((batch) => batch.map((event) => ({ ...event, seq: ++seq, at: new Date(Date.UTC(2026, 0, 1, 3) + seq * 1000).toISOString() })));
}

/** Every row of an instance, its id and name replaced, so two instances' rows compare. */
async function rowsOf(instanceId: string, name: string) {
  const query = async (sql: string) => (await pool.query(sql, [instanceId])).rows;
  const rows = {
    instance: (await query('SELECT * FROM instances WHERE instance_id = $1'))[0],
    events: await query('SELECT * FROM instance_events WHERE instance_id = $1 ORDER BY seq'),
    operations: await query('SELECT * FROM operations WHERE instance_id = $1 ORDER BY operation_id'),
    backups: await query('SELECT * FROM backups WHERE instance_id = $1 ORDER BY name'),
    maintenanceRuns: await query('SELECT * FROM maintenance_runs WHERE instance_id = $1 ORDER BY run_id'),
  };
  return JSON.parse(JSON.stringify(rows).replaceAll(instanceId, '<id>').replaceAll(name, '<name>')) as typeof rows;
}

describe('projection', () => {
  test('batch by batch, in one batch (a rebuild) and three writers at once all write the same rows', async () => {
    const ways = {
      batches: history('proj', 'batches', 'proj-batches'),
      oneBatch: history('proj', 'one-batch', 'proj-one-batch'),
      concurrent: history('proj', 'concurrent', 'proj-concurrent'),
    };
    for (const batch of ways.batches) await projectEvents(pool, { instanceId: 'proj-batches', workflowId: 'w', events: batch });
    const whole = await projectEvents(pool, { instanceId: 'proj-one-batch', workflowId: 'w', events: ways.oneBatch.flat() });
    assert.equal(whole.applied, ways.oneBatch.flat().length);

    const observed: number[] = [];
    let applied = 0;
    const writer = async () => {
      for (const events of ways.concurrent) {
        const result = await projectEvents(pool, { instanceId: 'proj-concurrent', workflowId: 'w', events }, (event) => observed.push(event.seq));
        applied += result.applied;
      }
    };
    await Promise.all([writer(), writer(), writer()]);
    const total = ways.concurrent.flat().length;
    assert.equal(applied, total, 'each event is applied by exactly one writer');
    assert.deepEqual([...observed].sort((a, b) => a - b), Array.from({ length: total }, (_, i) => i + 1), 'and observed once');

    const expected = await rowsOf('proj-batches', 'batches');
    assert.deepEqual(await rowsOf('proj-one-batch', 'one-batch'), expected);
    assert.deepEqual(await rowsOf('proj-concurrent', 'concurrent'), expected);
    // The reducer's state, the maintenance run, and the backup the retention deleted.
    const state = reduceAll(ways.batches.flat())!;
    assert.equal(expected.instance.last_seq, state.lastSeq);
    assert.deepEqual(expected.maintenanceRuns.map((run) => run.status), ['completed']);
    assert.deepEqual(expected.backups.map((backup) => [backup.name, backup.deleted_at !== null]), [['b1', true], ['b2', false]]);
  });

  test('a batch already written changes nothing; a gap is refused', async () => {
    const batches = history('proj', 'replayed', 'proj-replayed');
    for (const batch of batches.slice(0, 4)) await projectEvents(pool, { instanceId: 'proj-replayed', workflowId: 'w', events: batch });
    const before = await rowsOf('proj-replayed', 'replayed');
    const again = await projectEvents(pool, { instanceId: 'proj-replayed', workflowId: 'w', events: batches.slice(0, 4).flat() });
    assert.deepEqual({ applied: again.applied, lastSeq: again.lastSeq }, { applied: 0, lastSeq: 4 });
    assert.deepEqual(await rowsOf('proj-replayed', 'replayed'), before);
    await assert.rejects(projectEvents(pool, { instanceId: 'proj-replayed', workflowId: 'w', events: batches[5]! }), ProjectionGapError);
  });
});
