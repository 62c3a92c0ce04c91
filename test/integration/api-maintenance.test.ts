// Maintenance through HTTP: the fleet coordinator's controls (platform operators only), running
// maintenance now on an instance, the runs list and the upcoming windows, and tenant isolation.
// Against the real stack (worker on its own task queue and fleet coordinator, simulator).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { CreatedBody, InstanceView, MaintenanceRunItem, UpcomingMaintenance } from '../../src/api/schemas.js';
import { nextMaintenanceAt, workflowIdFor, type MaintenanceWindow } from '../../src/domain/index.js';
import type { FleetStatus } from '../../src/workflows/messages.js';
import { annotateClaim, apiClient, errorOf, eventually, precreateClaim, settled, startApiHarness, type ApiHarness, type Call, type Reply } from '../support/api.js';
import { uniqueName } from '../support/env.js';

// A Wednesday: the next Thursday window comes before the next Friday one.
const NOW = new Date('2031-03-05T12:34:00Z');

let h: ApiHarness;
before(async () => {
  h = await startApiHarness({ clock: () => NOW });
});
after(async () => {
  await h?.stop();
});

type Runs = { items: MaintenanceRunItem[]; nextCursor: string | null; upcoming: UpcomingMaintenance[] };

function expectError(reply: Reply<unknown>, status: number, code: string): void {
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  assert.equal(errorOf(reply).code, code);
}

async function createReady(call: Call, body: Record<string, unknown>): Promise<InstanceView> {
  const reply = await call<CreatedBody>('POST', '/v1/instances', { body });
  assert.equal(reply.status, 202, JSON.stringify(reply.body));
  assert.equal((await settled(call, String(body.name), reply.body.operation.id)).status, 'succeeded');
  return (await call<InstanceView>('GET', `/v1/instances/${String(body.name)}`)).body;
}

/**
 * Waits until the instance's latest run (in the runs list) has finished, and returns it; then until
 * the instance's maintenance Update (its id is the run id) has returned too: the instance hands its
 * fleet slot back after recording the outcome, and a worker stopped while that is under way waits for it.
 */
async function finishedRun(call: Call, name: string): Promise<MaintenanceRunItem> {
  const run = await eventually(`the maintenance run of ${name} to finish`, async () => {
    const runs = await call<Runs>('GET', `/v1/maintenance/runs?instance=${name}`);
    const latest = runs.body.items[0];
    return latest && ['completed', 'failed', 'skipped'].includes(latest.status) ? latest : undefined;
  });
  await h.client.workflow.getHandle(workflowIdFor(run.tenant, run.instance)).getUpdateHandle(run.runId).result();
  return run;
}

test('platform operators read and change the fleet controls; a tenant gets 403', async () => {
  const platform = apiClient(h.app, await h.platformToken());
  const { token } = await h.tenant('fleet');
  const tenant = apiClient(h.app, token);

  const initial = await platform<FleetStatus>('GET', '/v1/maintenance');
  assert.equal(initial.status, 200, JSON.stringify(initial.body));
  assert.deepEqual(initial.body, { maxConcurrent: 10, paused: false, running: [], waiting: [] });

  const patched = await platform<FleetStatus>('PATCH', '/v1/maintenance', { body: { maxConcurrent: 3 } });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  assert.deepEqual({ maxConcurrent: patched.body.maxConcurrent, paused: patched.body.paused }, { maxConcurrent: 3, paused: false });

  const paused = await platform<FleetStatus>('POST', '/v1/maintenance/pause');
  assert.equal(paused.status, 200);
  assert.equal(paused.body.paused, true);
  assert.equal((await platform<FleetStatus>('GET', '/v1/maintenance')).body.paused, true);

  const resumed = await platform<FleetStatus>('POST', '/v1/maintenance/resume', { body: {} });
  assert.equal(resumed.status, 200);
  assert.deepEqual({ maxConcurrent: resumed.body.maxConcurrent, paused: resumed.body.paused }, { maxConcurrent: 3, paused: false });

  const both = await platform<FleetStatus>('PATCH', '/v1/maintenance', { body: { maxConcurrent: 10, paused: false } });
  assert.deepEqual({ maxConcurrent: both.body.maxConcurrent, paused: both.body.paused }, { maxConcurrent: 10, paused: false });

  // Fleet-wide: not for tenants, whatever they send.
  expectError(await tenant('GET', '/v1/maintenance'), 403, 'forbidden');
  expectError(await tenant('PATCH', '/v1/maintenance', { body: { paused: true } }), 403, 'forbidden');
  expectError(await tenant('POST', '/v1/maintenance/pause'), 403, 'forbidden');
  expectError(await tenant('POST', '/v1/maintenance/resume'), 403, 'forbidden');
  expectError(await apiClient(h.app)('GET', '/v1/maintenance'), 401, 'unauthorized');
  assert.equal((await platform<FleetStatus>('GET', '/v1/maintenance')).body.paused, false, 'the refused requests changed nothing');

  // Bodies are checked like every other one.
  expectError(await platform('PATCH', '/v1/maintenance', { body: {} }), 400, 'invalid_request');
  expectError(await platform('PATCH', '/v1/maintenance', { body: { maxConcurrent: 0 } }), 400, 'invalid_request');
  expectError(await platform('PATCH', '/v1/maintenance', { body: { maxConcurrent: 1.5 } }), 400, 'invalid_request');
  expectError(await platform('PATCH', '/v1/maintenance', { body: { paused: 'yes' } }), 400, 'invalid_request');
  const unknown = await platform('PATCH', '/v1/maintenance', { body: { paused: true, extra: 1 } });
  expectError(unknown, 400, 'invalid_request');
  assert.deepEqual(errorOf(unknown).fields, [{ path: 'extra', message: 'unknown field' }]);
  expectError(await platform('POST', '/v1/maintenance/pause', { body: { now: true } }), 400, 'invalid_request');
  assert.equal((await platform<FleetStatus>('GET', '/v1/maintenance')).body.paused, false);
});

test('maintenance now: the run is listed until it completes, the instance shows it, upcoming windows come soonest first', async () => {
  const { tenant, token } = await h.tenant('mnt');
  const call = apiClient(h.app, token);
  const friday: MaintenanceWindow = { dayOfWeek: 'friday', timeOfDay: '01:00', durationMinutes: 60 };
  const thursday: MaintenanceWindow = { dayOfWeek: 'thursday', timeOfDay: '02:00', durationMinutes: 60 };
  const first = uniqueName('db');
  const second = uniqueName('db');
  await Promise.all([
    createReady(call, { name: first, version: '15.10', size: 'small', maintenanceWindow: friday }),
    createReady(call, { name: second, version: '15.10', size: 'small', maintenanceWindow: thursday }),
  ]);

  const triggered = await call<{ maintenance: { status: string; runId: string } }>('POST', `/v1/instances/${first}/maintenance`);
  assert.equal(triggered.status, 202, JSON.stringify(triggered.body));
  assert.equal(triggered.body.maintenance.status, 'triggered');
  assert.match(triggered.body.maintenance.runId, new RegExp(`^manual/${tenant}/${first}/`));
  assert.equal(triggered.headers.location, `/v1/maintenance/runs?instance=${first}`);

  const run = await finishedRun(call, first);
  assert.equal(run.status, 'completed', JSON.stringify(run));
  assert.equal(run.tenant, tenant);
  assert.equal(run.instance, first);
  assert.equal(run.runId, triggered.body.maintenance.runId);
  assert.equal(run.trigger, 'manual');
  assert.ok(run.startedAt && run.finishedAt && run.openedAt <= run.startedAt && run.startedAt <= run.finishedAt, JSON.stringify(run));
  assert.ok(run.outcome);

  const instance = (await call<InstanceView>('GET', `/v1/instances/${first}`)).body;
  assert.equal(instance.patchLevel, 1, 'maintenance applied the security patches');
  assert.equal(instance.pendingRestart, false);
  assert.deepEqual(instance.maintenance, {
    runId: run.runId, trigger: run.trigger, status: 'completed', openedAt: run.openedAt, windowEndsAt: run.windowEndsAt,
    startedAt: run.startedAt, finishedAt: run.finishedAt, outcome: run.outcome,
  });
  assert.equal((await call<InstanceView>('GET', `/v1/instances/${second}`)).body.maintenance, null);

  // Upcoming: each live instance's next window, soonest first, limited.
  const runs = await call<Runs>('GET', '/v1/maintenance/runs');
  assert.equal(runs.status, 200);
  assert.deepEqual(runs.body.items.map((item) => [item.instance, item.status]), [[first, 'completed']]);
  assert.deepEqual(
    runs.body.upcoming.map((item) => [item.tenant, item.instance, item.nextMaintenanceAt]),
    [
      [tenant, second, nextMaintenanceAt(thursday, NOW).toISOString()],
      [tenant, first, nextMaintenanceAt(friday, NOW, run.openedAt).toISOString()],
    ],
  );
  assert.deepEqual(runs.body.upcoming[0]?.maintenanceWindow, thursday);
  assert.deepEqual((await call<Runs>('GET', '/v1/maintenance/runs?limit=1')).body.upcoming.map((item) => item.instance), [second]);
  assert.deepEqual((await call<Runs>('GET', `/v1/maintenance/runs?instance=${first}`)).body.upcoming.map((item) => item.instance), [first]);
  assert.deepEqual((await call<Runs>('GET', '/v1/maintenance/runs?status=failed')).body.items, []);
  assert.equal((await call<Runs>('GET', '/v1/maintenance/runs?status=completed')).body.items.length, 1);

  // A second run, on the other instance: two runs, newest first, paged.
  assert.equal((await call('POST', `/v1/instances/${second}/maintenance`)).status, 202);
  const secondRun = await finishedRun(call, second);
  assert.equal(secondRun.status, 'completed');
  const page1 = await call<Runs>('GET', '/v1/maintenance/runs?limit=1');
  assert.deepEqual(page1.body.items.map((item) => item.instance), [second]);
  assert.ok(page1.body.nextCursor);
  const page2 = await call<Runs>('GET', `/v1/maintenance/runs?limit=1&cursor=${page1.body.nextCursor}`);
  assert.deepEqual(page2.body.items.map((item) => item.instance), [first]);
  assert.equal(page2.body.nextCursor, null);
  expectError(await call('GET', '/v1/maintenance/runs?cursor=bm90LWEtY3Vyc29y'), 400, 'invalid_request');
  expectError(await call('GET', '/v1/maintenance/runs?status=done'), 400, 'invalid_request');
  expectError(await call('GET', '/v1/maintenance/runs?limit=0'), 400, 'invalid_request');
  expectError(await call('GET', '/v1/maintenance/runs?tenant=other'), 400, 'invalid_request');

  // Tenant isolation: another tenant sees none of it and cannot run it.
  const other = apiClient(h.app, (await h.tenant('other')).token);
  const theirs = await other<Runs>('GET', '/v1/maintenance/runs');
  assert.deepEqual(theirs.body, { items: [], nextCursor: null, upcoming: [] });
  assert.deepEqual((await other<Runs>('GET', `/v1/maintenance/runs?instance=${first}`)).body.items, []);
  expectError(await other('POST', `/v1/instances/${first}/maintenance`), 404, 'not_found');
  expectError(await call('POST', `/v1/instances/${uniqueName('nope')}/maintenance`), 404, 'not_found');

  // Platform operators see every tenant's runs.
  const platform = apiClient(h.app, await h.platformToken());
  const all = await platform<Runs>('GET', `/v1/maintenance/runs?instance=${first}`);
  assert.deepEqual(all.body.items.map((item) => [item.tenant, item.instance, item.runId]), [[tenant, first, run.runId]]);
  const fleetWide = await platform<Runs>('GET', '/v1/maintenance/runs?limit=100');
  assert.ok(fleetWide.body.items.some((item) => item.tenant === tenant && item.instance === second));
  assert.ok(fleetWide.body.upcoming.length > 0);
});

test('maintenance now on an instance that is not ready is 409 not_ready', async () => {
  const { tenant, token } = await h.tenant('nr');
  const call = apiClient(h.app, token);
  const name = uniqueName('db');
  // The simulator keeps this claim from becoming Ready for a long while.
  await precreateClaim(tenant, { name, version: '15.10', size: 'small' }, { 'sim.claimflow.io/ready-delay-ms': '600000' });
  const created = await call<CreatedBody>('POST', '/v1/instances', { body: { name, version: '15.10', size: 'small' } });
  assert.equal(created.status, 202);
  await eventually('the instance in the read model', async () => ((await call<InstanceView>('GET', `/v1/instances/${name}`)).status === 200 ? true : undefined));
  assert.equal((await call<InstanceView>('GET', `/v1/instances/${name}`)).body.phase, 'provisioning');
  const refused = await call('POST', `/v1/instances/${name}/maintenance`);
  expectError(refused, 409, 'not_ready');
  assert.match(errorOf(refused).message, /provisioning/);

  // Let it become ready, so that no activity is left waiting when the worker stops.
  await annotateClaim(tenant, name, { 'sim.claimflow.io/ready-delay-ms': null });
  assert.equal((await settled(call, name, created.body.operation.id)).status, 'succeeded');
});

test('maintenance now while a run of the instance waits for a fleet slot is 409 busy', async () => {
  const platform = apiClient(h.app, await h.platformToken());
  const call = apiClient(h.app, (await h.tenant('busy')).token);
  const name = uniqueName('db');
  await createReady(call, { name, version: '15.10', size: 'small' });
  assert.equal((await platform<FleetStatus>('POST', '/v1/maintenance/pause')).body.paused, true);
  try {
    assert.equal((await call('POST', `/v1/instances/${name}/maintenance`)).status, 202);
    const waiting = await eventually('the run to wait for a slot', async () => {
      const run = (await call<Runs>('GET', `/v1/maintenance/runs?instance=${name}`)).body.items[0];
      return run?.status === 'waiting' ? run : undefined;
    });
    const fleet = await eventually('the fleet to list the waiting instance', async () => {
      const status = (await platform<FleetStatus>('GET', '/v1/maintenance')).body;
      return status.waiting.length > 0 ? status : undefined;
    });
    assert.ok(fleet.waiting.some((id) => id.endsWith(`/${name}`)), JSON.stringify(fleet));
    const again = await call('POST', `/v1/instances/${name}/maintenance`);
    expectError(again, 409, 'busy');
    assert.match(errorOf(again).message, new RegExp(waiting.runId));
  } finally {
    await platform('POST', '/v1/maintenance/resume');
  }
  const run = await finishedRun(call, name);
  assert.equal(run.status, 'completed');
  assert.equal((await call<Runs>('GET', `/v1/maintenance/runs?instance=${name}`)).body.items.length, 1);
});
