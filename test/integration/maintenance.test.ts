import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure, type ScheduleDescription, type ScheduleHandle, ScheduleNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { configureFleet } from '../../src/clients/fleet.js';
import { resumeInstance } from '../../src/clients/resume-instance.js';
import type { InstanceSchedules } from '../../src/activities/temporal/schedules.js';
import { DAYS_OF_WEEK, type MaintenanceWindow } from '../../src/domain/index.js';
import {
  MAINTENANCE_WINDOW_ATTRIBUTE, backupScheduleId, fleetStatusQuery, maintenanceScheduleId, maintenanceUpdate, restoreSchedulesUpdate, scheduleKeeperId, windowScheduleId,
  type MaintenanceWindowRunResult, type ScheduleKeeperResult,
} from '../../src/workflows/messages.js';
import { localActivityType } from '../../src/activities/readmodel/rebuild.js';
import { ensureScheduleKeeper } from '../../src/activities/temporal/schedule-keeper.js';
import { ActivityGate } from '../support/activity-gate.js';
import { recordHistoryFixture } from '../support/histories.js';
import { annotateClaim, get, list } from '../support/kube.js';
import {
  FAST_SETTINGS, eventTypes, eventually, idle, projected, send, start, startInstance, stateOf, triggerSchedule, waitForState, workerEnv,
  type Harness, readyAndIdle, startHarness, type StartedInstance,
} from '../support/lifecycle.js';

// Maintenance windows and scheduled backups as Temporal Schedules. Windows are injected down to
// seconds, and a schedule's trigger stands in for the window opening. Each instance here gets a
// window of its own unless a test shares one on purpose: a window's run maintains everyone in it.

/** The instances' writes of their Schedules, which a test may hold where they start (keyed by instance name). */
const scheduleWrites = new ActivityGate<InstanceSchedules>('upsertInstanceSchedules', (request) => request.name);

let harness: Harness;
before(async () => {
  harness = await startHarness({ workerOverrides: { interceptors: { activity: [scheduleWrites.interceptor] } } });
});
after(async () => harness.stop());

const ready = readyAndIdle;
const fleet = () => ({
  client: harness.client,
  fleetWorkflowId: workerEnv(harness.taskQueue).MAINTENANCE_FLEET_ID,
  taskQueue: harness.taskQueue,
  defaults: { maxConcurrent: 10, paused: false },
});

let windowsGiven = Math.floor(Math.random() * 7 * 24 * 60);
/** A window no other instance of this file has (one minute of the week each). */
function ownWindow(): MaintenanceWindow {
  const minute = windowsGiven++ % (7 * 24 * 60);
  const time = `${String(Math.floor(minute / 60) % 24).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
  return { dayOfWeek: DAYS_OF_WEEK[Math.floor(minute / (24 * 60))]!, timeOfDay: time, durationMinutes: 60 };
}

async function readyInstance(spec: Parameters<typeof startInstance>[1] = {}, settings = FAST_SETTINGS, annotations?: Record<string, string>) {
  const instance = await startInstance(harness, { maintenanceWindow: ownWindow(), ...spec }, settings);
  if (annotations) {
    // Set before Ready, so the simulator surely knows them when the first operation comes.
    await eventually('the claim', async () => ((await get('postgresqlinstances', instance.namespace, instance.name)) ? true : undefined));
    await annotateClaim(instance.namespace, instance.name, annotations);
  }
  await waitForState(instance, 'Ready', ready);
  return instance;
}

/**
 * Describing a Schedule queries its workflow inside the server. In full runs that query has taken
 * over 30 s and failed DEADLINE_EXCEEDED, in more than one test, so it is asked again. NotFound is
 * an answer, and is thrown at once.
 */
async function describeSchedule(handle: ScheduleHandle): Promise<ScheduleDescription> {
  const answer = await eventually(`a description of Schedule ${handle.scheduleId}`, () =>
    handle.describe().catch((error: unknown) => {
      if (error instanceof ScheduleNotFoundError) return error;
      throw error;
    }),
  );
  if (answer instanceof ScheduleNotFoundError) throw answer;
  return answer;
}

const windowSchedule = (instance: StartedInstance) => harness.client.schedule.getHandle(windowScheduleId(harness.taskQueue, instance.window));
const openWindow = (instance: StartedInstance) => triggerSchedule(windowSchedule(instance));

/** The result of the window's latest run. */
async function windowRun(instance: StartedInstance): Promise<MaintenanceWindowRunResult> {
  const query = `WorkflowType = 'maintenanceWindowWorkflow' AND WorkflowId STARTS_WITH '${windowScheduleId(harness.taskQueue, instance.window)}'`;
  const runs = await eventually('the window run', async () => {
    const found: string[] = [];
    for await (const run of harness.client.workflow.list({ query })) found.push(run.workflowId);
    return found.length > 0 ? found.sort() : undefined;
  });
  return harness.client.workflow.getHandle(runs.at(-1)!).result();
}

const maintenanceDone = (instance: StartedInstance) =>
  waitForState(instance, 'the maintenance run to finish', (state) =>
    ['completed', 'failed', 'skipped'].includes(state.maintenance?.status ?? '') && state.runningOperation === null,
  );

const after_ = (types: string[], first: string) => types.slice(types.lastIndexOf(first));

describe('maintenance windows', () => {
  test("the window's schedule follows the window; a window opens: backup, then security upgrade, in order", async () => {
    const instance = await readyInstance({ maintenanceWindow: { dayOfWeek: 'thursday', timeOfDay: '03:30', durationMinutes: 90 } });
    assert.equal(instance.window, 'thursday-03:30-5400s');
    const schedule = await describeSchedule(windowSchedule(instance));
    assert.deepEqual(schedule.spec.calendars?.[0]?.dayOfWeek, [{ start: 'THURSDAY', end: 'THURSDAY', step: 1 }]);
    assert.deepEqual(schedule.spec.calendars?.[0]?.hour, [{ start: 3, end: 3, step: 1 }]);
    assert.deepEqual(schedule.spec.calendars?.[0]?.minute, [{ start: 30, end: 30, step: 1 }]);
    assert.ok(schedule.info.nextActionTimes.length > 0);
    // runs start on their own queue, which the same worker polls
    assert.equal(schedule.action.type === 'startWorkflow' ? schedule.action.taskQueue : undefined, `${harness.taskQueue}-scheduled`);
    // no Schedule of its own: the window's is shared
    const own = await describeSchedule(harness.client.schedule.getHandle(maintenanceScheduleId(instance.tenant, instance.name))).then(() => undefined, (caught: unknown) => caught);
    assert.ok(own instanceof ScheduleNotFoundError);
    const described = await instance.handle.describe();
    assert.equal(described.typedSearchAttributes.get(MAINTENANCE_WINDOW_ATTRIBUTE), 'thursday-03:30-5400s');

    await openWindow(instance);
    const state = await maintenanceDone(instance);
    assert.equal(state.maintenance?.status, 'completed');
    assert.equal(state.patchLevel, 1);
    assert.equal(state.lastOperation?.type, 'maintenance');
    await projected(harness, instance);
    const types = await eventTypes(harness.pool, instance.instanceId);
    assert.deepEqual(after_(types, 'MaintenanceWindowOpened'), [
      'MaintenanceWindowOpened', 'MaintenanceStarted', 'BackupRequested', 'BackupCompleted',
      'UpgradeRequested', 'UpgradeStarted', 'UpgradeCompleted', 'MaintenanceCompleted',
    ]);
    const runs = await harness.pool.query('SELECT status, trigger FROM maintenance_runs WHERE instance_id = $1', [instance.instanceId]);
    assert.deepEqual(runs.rows, [{ status: 'completed', trigger: 'schedule' }]);
    // Each step projects what was recorded before it waits, so events recorded back to back go
    // together: the window's opening, then the start and backup request, the backup's end with the
    // upgrade's start, and the upgrade's end with the maintenance's (a local activity each).
    const history = await instance.handle.fetchHistory();
    const opened = history.events!.findIndex((event) => event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === maintenanceUpdate.name);
    const projections = history.events!.slice(opened).filter((event) => localActivityType(event) === 'projectEventsLocally');
    assert.equal(projections.length, 4, 'four projections for the eight events of a maintenance');
    // RECORD_MAINTENANCE_HISTORY=<name> records this instance's history, a window's maintenance
    // included, as a replay fixture for test/unit/replay.test.ts.
    recordHistoryFixture('RECORD_MAINTENANCE_HISTORY', history);
  });

  test("one window's run maintains every instance in it, once; another window's instance is left alone", async () => {
    const shared = ownWindow();
    const [first, second, elsewhere] = await Promise.all([readyInstance({ maintenanceWindow: shared }), readyInstance({ maintenanceWindow: shared }), readyInstance()]);
    assert.equal(first.window, second.window);
    await openWindow(first);
    for (const instance of [first, second]) assert.equal((await maintenanceDone(instance)).maintenance?.status, 'completed');
    const result = await windowRun(first);
    assert.deepEqual({ ...result, refused: result.refused.length }, { window: first.window, found: 2, handedOver: 2, refused: 0, refusedCount: 0 });
    assert.equal((await stateOf(elsewhere))?.maintenance, null);

    // The same window sent again (a second sender, a retry under a new run id) is refused, as is a window the instance left.
    const state = (await stateOf(first))!;
    assert.ok(state.maintenance?.windowOpensAt, 'the run records when its window opened');
    const again = (runId: string, window: string) =>
      first.handle.executeUpdate(maintenanceUpdate, {
        args: [{ runId, actor: 'test', trigger: 'schedule', windowEndsAt: state.maintenance!.windowEndsAt, window, windowOpensAt: state.maintenance!.windowOpensAt, report: false }],
        updateId: runId,
      }).then(() => undefined, (caught: unknown) => caught);
    const repeated = await again('again-1', first.window);
    assert.ok(repeated instanceof WorkflowUpdateFailedError);
    assert.match(repeated.cause?.message ?? '', /already has maintenance run/);
    const moved = await again('again-2', 'monday-00:00-60s');
    assert.ok(moved instanceof WorkflowUpdateFailedError);
    assert.match(moved.cause?.message ?? '', /is now .* not monday-00:00-60s/);
  });

  test("an instance's own Schedule from before windows had theirs still runs its maintenance and gets the report", async () => {
    const instance = await readyInstance();
    // as the worker made them before: the instance's own run workflow, on the scheduled queue
    const own = await harness.client.schedule.create({
      scheduleId: maintenanceScheduleId(instance.tenant, instance.name),
      spec: { calendars: [{ dayOfWeek: 'SUNDAY', hour: 3, minute: 0 }], timezone: 'UTC' },
      action: {
        type: 'startWorkflow', workflowType: 'maintenanceRunWorkflow', taskQueue: `${harness.taskQueue}-scheduled`, workflowId: `maintenance-run/${instance.tenant}/${instance.name}`,
        args: [{ instanceWorkflowId: instance.handle.workflowId, tenant: instance.tenant, name: instance.name, windowMs: 3_600_000, trigger: 'schedule' }],
      },
    });
    try {
      await triggerSchedule(own);
      const state = await maintenanceDone(instance);
      assert.equal(state.maintenance?.status, 'completed');
      assert.ok(state.maintenance?.windowOpensAt);
      const run = harness.client.workflow.getHandle(state.maintenance.runId);
      assert.deepEqual(await run.result(), { runId: state.maintenance.runId, status: 'completed', detail: state.maintenance.outcome });
    } finally {
      await own.delete();
    }
  });

  test('an instance that changes its window moves to that window\'s schedule', async () => {
    const instance = await readyInstance();
    const window = ownWindow();
    await send(instance, { kind: 'change-settings', maintenanceWindow: window });
    const state = await waitForState(instance, 'the new window', (s) => s.spec.maintenanceWindow.timeOfDay === window.timeOfDay && idle(s));
    assert.deepEqual(state.spec.maintenanceWindow, window);
    const key = `${window.dayOfWeek}-${window.timeOfDay}-3600s`;
    assert.equal((await instance.handle.describe()).typedSearchAttributes.get(MAINTENANCE_WINDOW_ATTRIBUTE), key);
    await triggerSchedule(harness.client.schedule.getHandle(windowScheduleId(harness.taskQueue, key)));
    assert.equal((await maintenanceDone(instance)).maintenance?.status, 'completed');
  });

  test('each window keeps its backup; those of all but the last two windows are deleted', async () => {
    const instance = await readyInstance();
    for (let run = 1; run <= 3; run++) {
      await openWindow(instance);
      await eventually(`maintenance run ${run}`, async () => {
        const { rows } = await harness.pool.query("SELECT count(*)::int AS n FROM maintenance_runs WHERE instance_id = $1 AND status = 'completed'", [instance.instanceId]);
        const state = await stateOf(instance);
        return rows[0].n === run && state && idle(state) ? true : undefined;
      });
    }
    const state = await projected(harness, instance);
    const rows = await harness.pool.query("SELECT name, deleted_at IS NOT NULL AS deleted FROM backups WHERE instance_id = $1 AND purpose = 'maintenance' ORDER BY requested_at", [instance.instanceId]);
    assert.deepEqual(rows.rows.map((row) => row.deleted), [true, false, false]);
    assert.deepEqual(state.backups.map((backup) => backup.name), rows.rows.slice(1).map((row) => row.name));
    const inCluster = (await list('sgbackups', instance.namespace)).map((backup) => backup.metadata.name).sort();
    assert.deepEqual(inCluster, state.backups.map((backup) => backup.name).sort());
  });

  test('a deferred resize is applied in the window; opted-in instances get the newest minor', async () => {
    const instance = await readyInstance({ version: '16.6', autoMinorUpgrades: true });
    await send(instance, { kind: 'scale', size: 'medium', applyAt: 'maintenance' });
    let state = await waitForState(instance, 'resize recorded', idle);
    assert.equal(state.pendingRestart, true);
    assert.equal(state.size, 'medium');
    await openWindow(instance);
    state = await maintenanceDone(instance);
    assert.equal(state.maintenance?.status, 'completed');
    assert.equal(state.version, '16.9');
    assert.equal(state.pendingRestart, false);
  });

  test('a failed backup stops maintenance before any change; a failed security upgrade is a failure', async () => {
    const instance = await readyInstance({}, FAST_SETTINGS, { 'fail-backups': 'true' });
    await openWindow(instance);
    let state = await maintenanceDone(instance);
    assert.equal(state.maintenance?.status, 'failed');
    assert.match(state.maintenance?.outcome ?? '', /backup failed/);
    assert.equal(state.patchLevel, 0);
    await projected(harness, instance);
    assert.ok(!after_(await eventTypes(harness.pool, instance.instanceId), 'MaintenanceWindowOpened').includes('UpgradeRequested'));

    await annotateClaim(instance.namespace, instance.name, { 'fail-backups': null, 'fail-ops': 'securityUpgrade' });
    await new Promise((resolve) => setTimeout(resolve, 1100)); // schedule run ids have second precision
    const runBefore = state.maintenance?.runId;
    await openWindow(instance);
    state = await waitForState(instance, 'the second run', (s) => s.maintenance?.runId !== runBefore && ['failed', 'completed', 'skipped'].includes(s.maintenance?.status ?? '') && s.runningOperation === null);
    assert.equal(state.maintenance?.status, 'failed');
    assert.match(state.maintenance?.outcome ?? '', /security upgrade failed/);
    assert.equal(state.lastOperation?.status, 'failed');
  });

  test('no upgrade starts once the window has closed: a backup that outlasts it fails the run before the upgrade', async () => {
    const late = await readyInstance({}, { ...FAST_SETTINGS, maintenanceWindowMs: 2000 }, { 'backup-delay-ms': '4000' });
    await openWindow(late);
    const state = await maintenanceDone(late);
    assert.equal(state.maintenance?.status, 'failed');
    assert.match(state.maintenance?.outcome ?? '', /window closed during the backup .*upgrade did not start outside it/);
    assert.equal(state.patchLevel, 0, 'not upgraded');
    assert.equal(state.lastOperation?.status, 'failed');
    assert.ok(state.backups.some((backup) => backup.purpose === 'maintenance' && backup.status === 'completed'), 'the backup is kept');
    assert.deepEqual((await list('sgdbops', late.namespace)).filter((ops) => ops.spec?.sgCluster === late.name), [], 'no SGDbOps was created');
    const holders = (await harness.client.workflow.getHandle(fleet().fleetWorkflowId).query(fleetStatusQuery)).running;
    assert.ok(!holders.includes(late.handle.workflowId), 'its fleet slot went back');
    // RECORD_LATE_MAINTENANCE_HISTORY=<name> records this history (the patch's branch) as a replay fixture.
    recordHistoryFixture('RECORD_LATE_MAINTENANCE_HISTORY', await late.handle.fetchHistory());
  });

  test("a user's operation makes maintenance wait; a window that closes first skips it", async () => {
    const waits = await readyInstance({}, FAST_SETTINGS, { 'op-delay-ms': '1500' });
    const restart = await start(waits, { kind: 'restart' });
    await openWindow(waits);
    let state = await maintenanceDone(waits);
    assert.equal(state.maintenance?.status, 'completed');
    await projected(harness, waits);
    const types = await eventTypes(harness.pool, waits.instanceId);
    assert.ok(types.indexOf('RestartCompleted') < types.indexOf('MaintenanceStarted'), 'maintenance started after the restart finished');
    assert.ok(types.indexOf('MaintenanceWindowOpened') < types.indexOf('RestartCompleted'), 'the window opened while the restart ran');

    const skips = await readyInstance({}, { ...FAST_SETTINGS, maintenanceWindowMs: 2000 }, { 'op-delay-ms': '6000' });
    const longRestart = await start(skips, { kind: 'restart' });
    await openWindow(skips);
    state = await waitForState(skips, 'maintenance skipped', (s) => s.maintenance?.status === 'skipped');
    assert.match(state.maintenance?.outcome ?? '', new RegExp(`window closed while restart \\(operation ${longRestart}\\)`));
    assert.notEqual(restart, longRestart);
  });
});

describe('fleet controls', () => {
  test('with many windows opening together, the fleet cap is never exceeded', async () => {
    await configureFleet(fleet(), { maxConcurrent: 2, paused: false });
    const instances = await Promise.all(Array.from({ length: 5 }, () => readyInstance({}, FAST_SETTINGS, { 'op-delay-ms': '600', 'backup-delay-ms': '600' })));
    await Promise.all(instances.map(openWindow));
    await Promise.all(instances.map((instance) => maintenanceDone(instance)));
    const spans: [number, number][] = [];
    for (const instance of instances) {
      const state = (await stateOf(instance))!;
      assert.equal(state.maintenance?.status, 'completed');
      spans.push([Date.parse(state.maintenance.startedAt!), Date.parse(state.maintenance.finishedAt!)]);
    }
    const concurrentAt = (t: number) => spans.filter(([from, to]) => from <= t && t < to).length;
    assert.ok(Math.max(...spans.map(([from]) => concurrentAt(from))) <= 2, `spans ${JSON.stringify(spans)}`);
    await configureFleet(fleet(), { maxConcurrent: 10 });
  });

  test('pause stops new runs, resume starts them again; a paused window that closes is skipped', async () => {
    await configureFleet(fleet(), { paused: true });
    const waiting = await readyInstance();
    const closing = await readyInstance({}, { ...FAST_SETTINGS, maintenanceWindowMs: 2000 });
    await Promise.all([openWindow(waiting), openWindow(closing)]);
    const skipped = await waitForState(closing, 'the paused run to be skipped', (s) => s.maintenance?.status === 'skipped');
    assert.match(skipped.maintenance?.outcome ?? '', /paused/);
    assert.equal((await stateOf(waiting))?.maintenance?.status, 'waiting');
    await configureFleet(fleet(), { paused: false });
    assert.equal((await maintenanceDone(waiting)).maintenance?.status, 'completed');
  });
});

describe('scheduled backups', () => {
  test('retention deletes the oldest scheduled backups and the failed ones a later backup superseded, and only those', async () => {
    const instance = await readyInstance({ backup: { schedule: '0 3 * * *', retention: 2 } });
    await send(instance, { kind: 'backup' });
    const schedule = harness.client.schedule.getHandle(backupScheduleId(instance.tenant, instance.name));
    const scheduledRun = async (run: number, status: 'completed' | 'failed', expected: number) => {
      await triggerSchedule(schedule);
      await eventually(`scheduled backup ${run} ${status}`, async () => {
        const { rows } = await harness.pool.query("SELECT count(*)::int AS n FROM backups WHERE instance_id = $1 AND purpose = 'scheduled' AND status = $2", [instance.instanceId, status]);
        const state = await stateOf(instance);
        return rows[0].n === expected && state && idle(state) ? true : undefined;
      });
    };
    await scheduledRun(1, 'completed', 1);
    await annotateClaim(instance.namespace, instance.name, { 'fail-backups': 'true' });
    await scheduledRun(2, 'failed', 1);
    await annotateClaim(instance.namespace, instance.name, { 'fail-backups': null });
    for (let run = 3; run <= 5; run++) await scheduledRun(run, 'completed', run - 1);
    const state = await projected(harness, instance);
    const kept = state.backups.filter((backup) => backup.purpose === 'scheduled');
    assert.deepEqual(kept.map((backup) => backup.status), ['completed', 'completed']);
    assert.ok(state.backups.some((backup) => backup.purpose === 'on-demand'), 'the on-demand backup is kept');
    const rows = await harness.pool.query("SELECT status, deleted_at IS NOT NULL AS deleted FROM backups WHERE instance_id = $1 AND purpose = 'scheduled' ORDER BY requested_at", [instance.instanceId]);
    assert.deepEqual(rows.rows.map((row) => [row.status, row.deleted]), [['completed', true], ['failed', true], ['completed', true], ['completed', false], ['completed', false]]);
    const inCluster = (await list('sgbackups', instance.namespace)).map((backup) => backup.metadata.name).sort();
    assert.deepEqual(inCluster, state.backups.map((backup) => backup.name).sort());
  });
});

describe('the Schedule keeper', () => {
  const keeper = () => harness.client.schedule.getHandle(scheduleKeeperId(harness.taskQueue));

  /** Runs the keeper now, as its Schedule would, and gives what that run did. */
  async function keeperRun(): Promise<ScheduleKeeperResult> {
    return harness.client.workflow.getHandle(await triggerSchedule(keeper())).result();
  }

  test("a window's Schedule deleted by hand is made again as it was, and its window still opens", async () => {
    const described = await describeSchedule(keeper());
    assert.deepEqual(described.spec.intervals?.map((interval) => interval.every), [60 * 60_000], 'the worker made the keeper, hourly by default');
    const instance = await readyInstance();
    const original = await describeSchedule(windowSchedule(instance));
    await windowSchedule(instance).delete();

    const result = await keeperRun();
    assert.ok(result.restored.includes(instance.window), `restored ${JSON.stringify(result)}`);
    assert.deepEqual(result.unreadable, []);
    const restored = await describeSchedule(windowSchedule(instance));
    assert.deepEqual(restored.spec, original.spec);
    assert.deepEqual(restored.action, original.action);
    assert.deepEqual(restored.policies, original.policies);

    assert.deepEqual((await keeperRun()).restored, [], 'nothing is missing any more');
    await openWindow(instance);
    const run = await windowRun(instance);
    assert.deepEqual([run.found, run.handedOver], [1, 1]);
    const state = await maintenanceDone(instance);
    assert.equal(state.maintenance?.status, 'completed');
  });

  test("a worker set to 'off' deletes its deployment's keeper, and one set to an interval makes it again", async () => {
    const instanceTaskQueue = `${harness.taskQueue}-other`;
    const options = { instanceTaskQueue, taskQueue: `${instanceTaskQueue}-scheduled` };
    const handle = harness.client.schedule.getHandle(scheduleKeeperId(instanceTaskQueue));
    await ensureScheduleKeeper(harness.client, { ...options, every: '30m' });
    assert.deepEqual((await describeSchedule(handle)).spec.intervals?.map((interval) => interval.every), [30 * 60_000]);
    await ensureScheduleKeeper(harness.client, { ...options, every: 'off' });
    await ensureScheduleKeeper(harness.client, { ...options, every: 'off' });
    const gone = await describeSchedule(handle).then(() => undefined, (error: unknown) => error);
    assert.ok(gone instanceof ScheduleNotFoundError, 'off: no keeper');
    await ensureScheduleKeeper(harness.client, { ...options, every: '1d' });
    assert.deepEqual((await describeSchedule(handle)).spec.intervals?.map((interval) => interval.every), [24 * 60 * 60_000]);
    await handle.delete();
  });

  test('a backup Schedule deleted by hand is written again by its instance, from its own policy', async () => {
    const instance = await readyInstance({ backup: { schedule: '15 4 * * *', retention: 3 } });
    const backupSchedule = () => harness.client.schedule.getHandle(backupScheduleId(instance.tenant, instance.name));
    const original = await describeSchedule(backupSchedule());
    await backupSchedule().delete();

    const result = await keeperRun();
    assert.ok(result.restoredBackups.includes(`${instance.tenant}/${instance.name}`), `restored ${JSON.stringify(result)}`);
    const restored = await describeSchedule(backupSchedule());
    assert.deepEqual(restored.spec, original.spec);
    assert.deepEqual(restored.action, original.action);
    const history = await instance.handle.fetchHistory();
    const update = history.events?.find((event) => event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'restore-schedules');
    assert.ok(update, "the restore is in the instance's history");

    assert.ok(!(await keeperRun()).restoredBackups.includes(`${instance.tenant}/${instance.name}`), 'nothing is missing any more');
    await triggerSchedule(backupSchedule());
    await waitForState(instance, 'the scheduled backup', (state) => state.backups.some((backup) => backup.purpose === 'scheduled' && backup.status === 'completed'));
  });

  test('an instance whose workflow ended outside claimflow is reported by the keeper until it is resumed', async () => {
    const instance = await readyInstance();
    const key = `${instance.tenant}/${instance.name}`;
    const { runId } = await instance.handle.describe();
    await instance.handle.terminate('ended by hand, as from the Temporal UI');

    const found = await keeperRun();
    const reported = found.unmanaged.find((unmanaged) => unmanaged.instance === key);
    assert.equal(reported?.status, 'TERMINATED', JSON.stringify(found));
    assert.ok(reported.closedAt && Date.parse(reported.closedAt) <= Date.now());
    assert.ok(found.unmanagedCount >= 1);

    const resumed = await resumeInstance(harness, { tenant: instance.tenant, name: instance.name, reason: 'ended by mistake', actor: 'platform:tests' });
    assert.deepEqual([resumed.outcome, resumed.outcome === 'reset' && resumed.endedRunId], ['reset', runId]);
    const again = await keeperRun();
    assert.ok(!again.unmanaged.some((unmanaged) => unmanaged.instance === key), `reset, so managed again: ${JSON.stringify(again)}`);
  });

  test('a fleet slot held by a maintenance run whose workflow was ended by hand goes back to the fleet at the keeper\'s run, and is counted again when the run is reset', async () => {
    const instance = await readyInstance({}, FAST_SETTINGS, { 'op-delay-ms': '600000' });
    const holders = async () => (await harness.client.workflow.getHandle(fleet().fleetWorkflowId).query(fleetStatusQuery)).running;
    // A run that will not finish while its workflow runs: it holds its slot when the workflow is ended.
    const request = { runId: `held-${instance.name}`, actor: 'test', trigger: 'manual' as const, windowEndsAt: new Date(Date.now() + 3_600_000).toISOString(), report: false };
    await instance.handle.startUpdate(maintenanceUpdate, { args: [request], waitForStage: 'ACCEPTED' });
    await eventually('the run to hold a slot', async () => ((await holders()).includes(instance.handle.workflowId) ? true : undefined));
    // Ended in the middle of its upgrade, as a run ended by mistake mostly is.
    await eventually('the upgrade to start', async () => ((await eventTypes(harness.pool, instance.instanceId)).includes('UpgradeStarted') ? true : undefined));
    await instance.handle.terminate('ended by hand, as from the Temporal UI');

    const found = await keeperRun();
    assert.ok(found.slotsReleased.includes(instance.handle.workflowId), JSON.stringify(found));
    await eventually('the slot to be free', async () => ((await holders()).includes(instance.handle.workflowId) ? undefined : true));
    assert.ok(!(await keeperRun()).slotsReleased.includes(instance.handle.workflowId), 'handed back once');

    // Reset, the run goes on with its maintenance: the fleet counts its slot again before it does.
    const resumed = await resumeInstance(harness, { tenant: instance.tenant, name: instance.name, reason: 'ended by mistake', actor: 'platform:tests' });
    assert.deepEqual(resumed.outcome === 'reset' && resumed.maintenanceSlot, { done: 'held again', fleetWorkflowId: fleet().fleetWorkflowId }, JSON.stringify(resumed));
    assert.ok((await holders()).includes(instance.handle.workflowId), 'held again');
    assert.ok(!(await keeperRun()).slotsReleased.includes(instance.handle.workflowId), 'a running workflow keeps its slot');
    // Its cluster work finishes now: the run completes and hands the slot back.
    await annotateClaim(instance.namespace, instance.name, { 'op-delay-ms': '0' });
    const finished = await waitForState(instance, 'the maintenance to end', (state) => ['completed', 'failed', 'skipped'].includes(state.maintenance?.status ?? ''));
    assert.equal(finished.maintenance?.status, 'completed', JSON.stringify(finished.maintenance));
    await eventually('the slot to be handed back', async () => ((await holders()).includes(instance.handle.workflowId) ? undefined : true));
  });

  test('a maintenance run reset by hand while it waited for a fleet slot asks for one again', async () => {
    const busy = await readyInstance({}, FAST_SETTINGS, { 'op-delay-ms': '600000' });
    const waiting = await readyInstance();
    const status = () => harness.client.workflow.getHandle(fleet().fleetWorkflowId).query(fleetStatusQuery);
    const maintain = (instance: StartedInstance) => instance.handle.startUpdate(maintenanceUpdate, {
      args: [{ runId: `slot-${instance.name}`, actor: 'test', trigger: 'manual', windowEndsAt: new Date(Date.now() + 3_600_000).toISOString(), report: false }],
      waitForStage: 'ACCEPTED',
    });
    const { maxConcurrent } = await status();
    await configureFleet(fleet(), { maxConcurrent: 1 });
    try {
      await maintain(busy);
      await eventually('the first run to hold the one slot', async () => ((await status()).running.includes(busy.handle.workflowId) ? true : undefined));
      await maintain(waiting);
      await eventually('the second to wait', async () => ((await status()).waiting.includes(waiting.handle.workflowId) ? true : undefined));
      // A command taken meanwhile moves its history past the request: a reset replays the request, not sends it.
      await send(waiting, { kind: 'backup' });
      await waiting.handle.terminate('ended by hand, as from the Temporal UI');
      // The slot comes free while the waiter has ended: its grant finds no workflow and the fleet drops it.
      await annotateClaim(busy.namespace, busy.name, { 'op-delay-ms': '0' });
      await eventually('the waiter to be dropped', async () => {
        const { running, waiting: waiters } = await status();
        return [...running, ...waiters].includes(waiting.handle.workflowId) || running.includes(busy.handle.workflowId) ? undefined : true;
      });

      const resumed = await resumeInstance({ ...harness, fleetWorkflowId: fleet().fleetWorkflowId }, { tenant: waiting.tenant, name: waiting.name, reason: 'ended by mistake', actor: 'platform:tests' });
      assert.deepEqual(resumed.outcome === 'reset' && resumed.maintenanceSlot, { done: 'asked for again', fleetWorkflowId: fleet().fleetWorkflowId }, JSON.stringify(resumed));
      await waitForState(waiting, 'the reset run to be maintained', (state) => state.maintenance?.status === 'completed');
      await eventually('its slot to be handed back', async () => ((await status()).running.length === 0 ? true : undefined));
    } finally {
      await configureFleet(fleet(), { maxConcurrent });
    }
  });

  test("the keeper's restore and an operation never write an instance's Schedules at once, and the newer spec lands last", async () => {
    const instance = await readyInstance({ backup: { schedule: '0 3 * * *', retention: 2 } });
    const restore = () => instance.handle.startUpdate(restoreSchedulesUpdate, { args: [{ actor: 'test' }], waitForStage: 'ACCEPTED' });
    const policy = (schedule: string) => ({ kind: 'change-settings' as const, backup: { schedule, retention: 2 } });
    const writesStarted = () => scheduleWrites.runsOf(instance.name).length;
    const first = writesStarted();

    // An operation is writing them: a restore sent now is refused as busy (the keeper lists the
    // instance as left). It is taken only if it reached the workflow before the operation's write
    // began (both in one task, as after a timed-out task); then the operation's write waits for it.
    scheduleWrites.hold(instance.name);
    const change = send(instance, policy('0 4 * * *'));
    await eventually("the operation's write", () => (writesStarted() > first ? true : undefined));
    // Released once the Update is settled either way; a rejection may come with the handle.
    const asked = await restore().then((update) => ({ update }), (error: unknown) => ({ error }));
    scheduleWrites.release(instance.name);
    await change;
    const refusal = 'update' in asked ? await asked.update.result().then(() => undefined, (error: unknown) => error) : asked.error;
    if (refusal !== undefined) {
      assert.ok(refusal instanceof WorkflowUpdateFailedError && refusal.cause instanceof ApplicationFailure && refusal.cause.type === 'busy', `refused: ${refusal instanceof Error ? refusal.message : typeof refusal}`);
    }

    // A restore is writing them (from the spec it read): a change accepted meanwhile writes after it.
    scheduleWrites.hold(instance.name);
    const second = writesStarted();
    const restored = restore().then((update) => update.result());
    await eventually("the restore's write", () => (writesStarted() > second ? true : undefined));
    const changeId = await start(instance, policy('0 5 * * *'));
    // Once the change is in the read model its next step is its write, which without the guard
    // would start now, inside the restore's.
    await eventually('the change in the read model', async () => ((await projected(harness, instance)).spec.backup?.schedule === '0 5 * * *' ? true : undefined));
    scheduleWrites.release(instance.name);
    assert.deepEqual(await restored, { backupSchedule: true });
    await instance.handle.getUpdateHandle(changeId).result();

    const writes = scheduleWrites.runsOf(instance.name).slice(first);
    for (const [earlier, later] of writes.slice(1).map((run, index) => [writes[index]!, run] as const)) {
      assert.ok(earlier.ended !== undefined && later.started > earlier.ended, `two writes at once: ${JSON.stringify(writes)}`);
    }
    assert.equal(writes.at(-1)?.input.backup?.schedule, '0 5 * * *', 'the newer spec is written last');
    const schedule = await describeSchedule(harness.client.schedule.getHandle(backupScheduleId(instance.tenant, instance.name)));
    assert.match(schedule.state.note ?? '', /"0 5 \* \* \*"/);
  });
});

describe('deprovisioning', () => {
  test("removes the instance's schedules; its window's stays for others", async () => {
    const instance = await readyInstance({ backup: { schedule: '0 3 * * *', retention: 2 } });
    await send(instance, { kind: 'deprovision', finalBackup: false });
    await instance.handle.result();
    for (const id of [maintenanceScheduleId(instance.tenant, instance.name), backupScheduleId(instance.tenant, instance.name)]) {
      const error = await describeSchedule(harness.client.schedule.getHandle(id)).then(() => undefined, (caught: unknown) => caught);
      assert.ok(error instanceof ScheduleNotFoundError, `${id} is gone`);
    }
    assert.ok(await describeSchedule(windowSchedule(instance)), "the window's Schedule stays for the other instances in it");
  });
});
