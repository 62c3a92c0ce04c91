// Every error the API answers, with its status, code and (for bad input) the path of each bad
// field; a property test that no malformed body gets a 5xx; and 503 when Temporal or PostgreSQL
// cannot be reached; 409 for an instance whose workflow ended outside claimflow, and how the
// platform team resumes it. Against the real stack (see api.test.ts).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { Client, Connection, ScheduleOverlapPolicy, makeGrpcRetryInterceptor } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import fc from 'fast-check';
import pg from 'pg';
import { buildApp } from '../../src/api/app.js';
import type { Backup, CreatedBody, InstanceView, OperationRef } from '../../src/api/schemas.js';
import { resumeInstance } from '../../src/clients/resume-instance.js';
import { ALL_VERSIONS, DAYS_OF_WEEK, tenantNamespace, workflowIdFor } from '../../src/domain/index.js';
import { backupScheduleId, fleetStatusQuery, maintenanceUpdate, stateQuery } from '../../src/workflows/messages.js';
import {
  FAST_SETTINGS, annotateBackup, annotateClaim, apiClient, errorOf, eventually, precreateClaim, settled, startApiHarness,
  type ApiHarness, type Call, type Reply,
} from '../support/api.js';
import { testEnv, uniqueName } from '../support/env.js';
import { recordHistoryFixture } from '../support/histories.js';
import * as kube from '../support/kube.js';
import { workflowBundle } from '../support/lifecycle.js';

const run = promisify(execFile);
let h: ApiHarness;

before(async () => {
  h = await startApiHarness();
});

after(async () => {
  await h?.stop();
});

type Accepted = { operation: OperationRef };

function expectError(reply: Reply<unknown>, status: number, code: string, paths?: string[]): void {
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  const error = errorOf(reply);
  assert.equal(error.code, code, JSON.stringify(reply.body));
  assert.equal(typeof error.message, 'string');
  assert.equal(typeof error.requestId, 'string');
  if (paths) {
    const got = (error.fields ?? []).map((field) => field.path);
    for (const path of paths) assert.ok(got.includes(path), `field ${JSON.stringify(path)} in ${JSON.stringify(error.fields)}`);
  }
}

async function createReady(call: Call, body: Record<string, unknown>): Promise<CreatedBody> {
  const reply = await call<CreatedBody>('POST', '/v1/instances', { body });
  assert.equal(reply.status, 202, JSON.stringify(reply.body));
  assert.equal((await settled(call, String(body.name), reply.body.operation.id)).status, 'succeeded');
  return reply.body;
}

test('bad input is a 400 invalid_request naming each bad field', async () => {
  const { token } = await h.tenant('bad');
  const call = apiClient(h.app, token);

  expectError(
    await call('POST', '/v1/instances', {
      body: { name: 'Bad_Name', version: '15.10', size: 'huge', color: 'blue', maintenanceWindow: { dayOfWeek: 'someday', timeOfDay: '25:00' } },
    }),
    400, 'invalid_request', ['name', 'size', 'color', 'maintenanceWindow.dayOfWeek', 'maintenanceWindow.timeOfDay'],
  );
  expectError(await call('POST', '/v1/instances', { body: { name: 'db', version: '15.11', size: 'small' } }), 400, 'invalid_request', ['version']);
  expectError(await call('POST', '/v1/instances', { body: { name: 'db', size: 'small' } }), 400, 'invalid_request', ['version']);
  expectError(
    await call('POST', '/v1/instances', { body: { name: 'db', version: '15.10', size: 'small', instances: 7, backup: { schedule: 'daily', retention: 0 } } }),
    400, 'invalid_request', ['instances', 'backup.schedule', 'backup.retention'],
  );
  expectError(await call('POST', '/v1/instances', { rawBody: '{"name": "db", ' }), 400, 'invalid_request');
  expectError(await call('POST', '/v1/instances', { rawBody: '[1, 2]' }), 400, 'invalid_request');
  expectError(await call('POST', '/v1/instances', { rawBody: '' }), 400, 'invalid_request');
  expectError(await call('POST', '/v1/instances', { rawBody: '{"__proto__": {"x": 1}}' }), 400, 'invalid_request');

  const name = uniqueName('db');
  expectError(await call('PATCH', `/v1/instances/${name}`, { body: {} }), 400, 'invalid_request', ['']);
  expectError(await call('PATCH', `/v1/instances/${name}`, { body: { size: 'medium', deletionProtection: true } }), 400, 'invalid_request', ['deletionProtection']);
  expectError(await call('PATCH', `/v1/instances/${name}`, { body: { applyAt: 'now' } }), 400, 'invalid_request', ['applyAt']);
  expectError(await call('PATCH', `/v1/instances/${name}`, { body: { size: 'tiny', applyAt: 'later' } }), 400, 'invalid_request', ['size', 'applyAt']);
  expectError(await call('PATCH', `/v1/instances/${name}`, { body: { version: '16.9' } }), 400, 'invalid_request', ['version']);
  expectError(await call('POST', `/v1/instances/${name}/upgrades`, { body: {} }), 400, 'invalid_request', ['version']);
  expectError(await call('POST', `/v1/instances/${name}/upgrades`, { body: { type: 'security', version: '16.9' } }), 400, 'invalid_request', ['version']);
  expectError(await call('POST', `/v1/instances/${name}/restart`, { body: { force: true } }), 400, 'invalid_request', ['force']);
  expectError(await call('DELETE', `/v1/instances/${name}?finalBackup=maybe`), 400, 'invalid_request', ['query.finalBackup']);

  expectError(await call('GET', '/v1/instances?limit=1000'), 400, 'invalid_request', ['query.limit']);
  expectError(await call('GET', '/v1/instances?phase=sleeping'), 400, 'invalid_request', ['query.phase']);
  expectError(await call('GET', '/v1/instances?cursor=not-a-cursor'), 400, 'invalid_request', ['query.cursor']);
  expectError(await call('GET', `/v1/instances/${name}/state?at=yesterday`), 400, 'invalid_request', ['query.at']);
  expectError(await call('GET', `/v1/instances/${name}/events?after=-1`), 400, 'invalid_request', ['query.after']);
  expectError(await call('GET', '/v1/instances/Not_A_Name'), 400, 'invalid_request', ['params.name']);
  expectError(await call('DELETE', `/v1/instances/${name}/backups/Not_A_Backup`), 400, 'invalid_request', ['params.backup']);
  expectError(await call('GET', `/v1/instances/${name}/backups?deleted=yes`), 400, 'invalid_request', ['query.deleted']);
  expectError(
    await call('POST', `/v1/instances/${name}/backups`, { headers: { 'idempotency-key': 'has spaces in it' } }),
    400, 'invalid_request', ['headers.idempotency-key'],
  );

  // strings the read model could not store, absurd numbers and shapes
  expectError(await call('POST', `/v1/instances/${name}/restart`, { rawBody: '{"reason": "a\\u0000b"}' }), 400, 'invalid_request', ['reason']);
  expectError(await call('POST', `/v1/instances/${name}/backups`, { rawBody: '{"reason": "\\ud800"}' }), 400, 'invalid_request', ['reason']);
  expectError(
    await call('POST', '/v1/instances', { body: { name: 'db', version: '15.10', size: 'small', restoreFrom: { instance: 'old', backup: 'b\u0000' } } }),
    400, 'invalid_request', ['restoreFrom.backup'],
  );
  expectError(await call('POST', '/v1/instances', { rawBody: `${'['.repeat(30_000)}${']'.repeat(30_000)}` }), 400, 'invalid_request');
  expectError(await call('GET', `/v1/instances/${name}/events?after=99999999999`), 400, 'invalid_request', ['query.after']);
  expectError(await call('GET', `/v1/instances?cursor=${Buffer.from('["db\u0000", "x"]').toString('base64url')}`), 400, 'invalid_request', ['query.cursor']);
  expectError(await call('GET', '/v1/instances?version=15%0013'), 400, 'invalid_request', ['query.version']);
  expectError(await call('GET', `/v1/instances/${name}/operations/a%00b`), 400, 'invalid_request', ['params.id']);
  expectError(await call('GET', '/v1/instances?limit=10&unexpected=1'), 400, 'invalid_request', ['query.unexpected']);

  // too large, wrong media type
  const huge = { name: 'db', version: '15.10', size: 'small', padding: 'x'.repeat(70 * 1024) };
  expectError(await call('POST', '/v1/instances', { body: huge }), 413, 'payload_too_large');
  expectError(await call('POST', '/v1/instances', { rawBody: '<instance/>', headers: { 'content-type': 'application/xml' } }), 415, 'unsupported_media_type');
});

test('authentication: 401 unauthorized without a valid bearer token; request ids are echoed', async () => {
  const anonymous = apiClient(h.app);
  expectError(await anonymous('GET', '/v1/instances'), 401, 'unauthorized');
  expectError(await anonymous('POST', '/v1/instances', { body: { name: 'db', version: '15.10', size: 'small' } }), 401, 'unauthorized');
  expectError(await anonymous('GET', '/v1/instances', { headers: { authorization: 'Basic dXNlcjpwYXNz' } }), 401, 'unauthorized');
  expectError(await anonymous('GET', '/v1/instances', { token: 'cf_not-a-real-token' }), 401, 'unauthorized');

  const traced = await anonymous('GET', '/v1/instances', { headers: { 'x-request-id': 'trace-1234' } });
  assert.equal(traced.headers['x-request-id'], 'trace-1234');
  assert.equal(errorOf(traced).requestId, 'trace-1234');
  const generated = await anonymous('GET', '/v1/instances');
  assert.equal(errorOf(generated).requestId, generated.headers['x-request-id']);
});

test('unknown instances, operations and routes are 404 not_found', async () => {
  const { token } = await h.tenant('nf');
  const call = apiClient(h.app, token);
  const name = uniqueName('db');
  for (const url of [`/v1/instances/${name}`, `/v1/instances/${name}/events`, `/v1/instances/${name}/backups`, `/v1/instances/${name}/connection`,
    `/v1/instances/${name}/operations/nope`, `/v1/instances/${name}/state?at=2030-01-01T00:00:00Z`, '/v1/nothing-here']) {
    expectError(await call('GET', url), 404, 'not_found');
  }
  expectError(await call('PATCH', `/v1/instances/${name}`, { body: { size: 'large' } }), 404, 'not_found');
  expectError(await call('POST', `/v1/instances/${name}/restart`), 404, 'not_found');
  expectError(await call('DELETE', `/v1/instances/${name}`), 404, 'not_found');
});

test('the workflow refuses what the instance cannot do: 409 and 422 with the rejection code', async () => {
  const { tenant, token } = await h.tenant('rej');
  const call = apiClient(h.app, token);
  const name = uniqueName('db');
  await createReady(call, { name, version: '15.10', size: 'small', deletionProtection: true });

  expectError(await call('POST', `/v1/instances/${name}/upgrades`, { body: { version: '14.18' } }), 422, 'downgrade');
  expectError(await call('POST', `/v1/instances/${name}/upgrades`, { body: { version: '15.10' } }), 422, 'same_version');
  expectError(await call('POST', `/v1/instances/${name}/upgrades`, { body: { version: '15.99' } }), 422, 'unknown_version');
  expectError(await call('PATCH', `/v1/instances/${name}`, { body: { size: 'small' } }), 422, 'invalid_transition');
  expectError(await call('DELETE', `/v1/instances/${name}`), 409, 'deletion_protected');

  // busy: a backup that takes as long as we need, then everything else waits for it
  await annotateClaim(tenant, name, { 'sim.claimflow.io/backup-delay-ms': '600000' });
  const backup = await call<Accepted>('POST', `/v1/instances/${name}/backups`);
  assert.equal(backup.status, 202);
  const busy = await call('PATCH', `/v1/instances/${name}`, { body: { size: 'medium' } });
  expectError(busy, 409, 'busy');
  assert.match(errorOf(busy).message, /backup/);
  assert.match(errorOf(busy).message, new RegExp(backup.body.operation.id));
  expectError(await call('POST', `/v1/instances/${name}/restart`), 409, 'busy');
  expectError(await call('PATCH', `/v1/instances/${name}`, { body: { deletionProtection: false } }), 409, 'busy');
  const running = await call<{ status: string }>('GET', `/v1/instances/${name}/operations/${backup.body.operation.id}`);
  assert.ok(['accepted', 'running'].includes(running.body.status));

  // release the backup
  const pending = await eventually('the backup to be projected', async () => {
    const items = (await call<{ items: Backup[] }>('GET', `/v1/instances/${name}/backups`)).body.items;
    return items.find((item) => item.requestId === backup.body.operation.id);
  });
  await annotateBackup(tenant, pending.name, { 'sim.claimflow.io/delay-ms': '0' });
  assert.equal((await settled(call, name, backup.body.operation.id)).status, 'succeeded');

  // being deleted (its final backup held): creating the name again is a 409 to retry later
  const unprotect = await call<Accepted>('PATCH', `/v1/instances/${name}`, { body: { deletionProtection: false } });
  assert.equal(unprotect.status, 202);
  await settled(call, name, unprotect.body.operation.id);
  const deletion = await call<Accepted>('DELETE', `/v1/instances/${name}`);
  assert.equal(deletion.status, 202);
  const final = await eventually('the final backup to be projected', async () => {
    const items = (await call<{ items: Backup[] }>('GET', `/v1/instances/${name}/backups`)).body.items;
    return items.find((item) => item.purpose === 'final');
  });
  const recreate = await call('POST', '/v1/instances', { body: { name, version: '15.10', size: 'small' } });
  expectError(recreate, 409, 'already_exists');
  assert.match(errorOf(recreate).message, /being deleted/);
  assert.equal(recreate.headers['retry-after'], '5');
  await annotateBackup(tenant, final.name, { 'sim.claimflow.io/delay-ms': '0' });
  assert.equal((await settled(call, name, deletion.body.operation.id)).status, 'succeeded');
});

test('an instance whose provisioning failed is 422 not_ready for commands and its connection', async () => {
  const { tenant, token } = await h.tenant('nr');
  // Gives up on the claim after 2 s instead of 30.
  const app = buildApp({ client: h.client, pool: h.pool, taskQueue: h.taskQueue, lifecycleSettings: { ...FAST_SETTINGS, provisionTimeoutMs: 2_000 } });
  try {
    const call = apiClient(app, token);
    const name = uniqueName('db');
    await precreateClaim(tenant, { name, version: '15.10', size: 'small' }, { 'sim.claimflow.io/fail-provisioning': 'no capacity (injected)' });
    const created = await call<CreatedBody>('POST', '/v1/instances', { body: { name, version: '15.10', size: 'small' } });
    assert.equal(created.status, 202);
    assert.equal((await settled(call, name, created.body.operation.id)).status, 'failed');
    const failed = (await call<InstanceView>('GET', `/v1/instances/${name}`)).body;
    assert.equal(failed.phase, 'failed');
    assert.ok(failed.failure);

    expectError(await call('POST', `/v1/instances/${name}/restart`), 422, 'not_ready');
    expectError(await call('POST', `/v1/instances/${name}/upgrades`, { body: { version: '15.13' } }), 422, 'not_ready');
    expectError(await call('GET', `/v1/instances/${name}/connection`), 422, 'not_ready');

    const deletion = await call<Accepted>('DELETE', `/v1/instances/${name}?finalBackup=false`);
    assert.equal(deletion.status, 202, JSON.stringify(deletion.body));
    assert.equal((await settled(call, name, deletion.body.operation.id)).status, 'succeeded');
  } finally {
    await app.close();
  }
});

test('no malformed body to POST /v1/instances or PATCH gets a 5xx', async () => {
  const { token } = await h.tenant('fuzz');
  const call = apiClient(h.app, token);
  const name = uniqueName('db');
  await createReady(call, { name, version: '15.10', size: 'small' });

  // Mostly valid fields, so that many bodies get past some checks (and some all the way to the workflow).
  const maybe = <T>(valid: fc.Arbitrary<T>) =>
    fc.oneof({ arbitrary: valid, weight: 8 }, fc.anything(), fc.string(), fc.integer(), fc.constant(null));
  // Names are this instance's or invalid: a valid new name would create instances.
  const nameField = fc.oneof(fc.string().map((s) => `_${s}`), fc.constant('Upper'), fc.anything());
  const window = fc.record(
    { dayOfWeek: maybe(fc.constantFrom(...DAYS_OF_WEEK)), timeOfDay: maybe(fc.constantFrom('00:00', '23:59', '24:00', '3:00')), durationMinutes: maybe(fc.integer({ min: 0, max: 600 })) },
    { requiredKeys: [] },
  );
  const backup = fc.record({ schedule: maybe(fc.constantFrom('0 3 * * *', '*/5 * * * *', '* * *')), retention: maybe(fc.integer({ min: -1, max: 100 })) }, { requiredKeys: [] });
  const specFields = {
    name: fc.oneof({ arbitrary: fc.constant(name), weight: 8 }, nameField),
    engine: maybe(fc.constant('postgres')),
    version: maybe(fc.constantFrom(...ALL_VERSIONS, '13.1', '')),
    size: maybe(fc.constantFrom('small', 'medium', 'large', 'huge')),
    instances: maybe(fc.integer({ min: -1, max: 5 })),
    maintenanceWindow: maybe(window),
    autoMinorUpgrades: maybe(fc.boolean()),
    backup: maybe(backup),
    deletionProtection: maybe(fc.boolean()),
    restoreFrom: maybe(
      fc.record(
        { instance: maybe(fc.constant(name)), backup: maybe(fc.string()), pointInTime: maybe(fc.date().map((d) => (Number.isNaN(d.getTime()) ? 'x' : d.toISOString()))) },
        { requiredKeys: [] },
      ),
    ),
  };
  const withExtra = <T extends object>(arbitrary: fc.Arbitrary<T>) =>
    arbitrary.chain((value) => fc.option(fc.anything(), { freq: 4 }).map((extra) => (extra === null ? value : { ...value, extra })));
  const specLike = withExtra(
    fc.oneof(fc.record(specFields, { requiredKeys: [] }), fc.record(specFields, { requiredKeys: ['name', 'version', 'size'] })),
  );
  const settingsFields = {
    maintenanceWindow: maybe(window),
    backup: fc.oneof(maybe(backup), fc.constant(null)),
    deletionProtection: maybe(fc.constant(false)),
    autoMinorUpgrades: maybe(fc.boolean()),
    reason: maybe(fc.string()),
  };
  const scaleFields = {
    size: maybe(fc.constantFrom('small', 'medium', 'large', 'huge')),
    applyAt: maybe(fc.constantFrom('now', 'maintenance', 'later')),
    reason: maybe(fc.string()),
  };
  const patchLike = withExtra(
    fc.oneof(
      fc.record(scaleFields, { requiredKeys: [] }),
      fc.record(settingsFields, { requiredKeys: [] }),
      fc.record({ ...scaleFields, ...settingsFields }, { requiredKeys: [] }),
    ),
  );
  const raw = fc.oneof(fc.string(), fc.constantFrom('{', '{"a":}', 'null', '"x"', '1e999', '{"name": "\\ud800"}', '\u0000'));
  const body = (structured: fc.Arbitrary<unknown>) =>
    fc.oneof(
      { arbitrary: structured.map((value) => ({ body: value })), weight: 6 },
      fc.jsonValue().map((value) => ({ body: value })),
      raw.map((text) => ({ rawBody: text })),
    );

  await fc.assert(
    fc.asyncProperty(body(specLike), async (options) => {
      const reply = await call('POST', '/v1/instances', options as { body?: unknown; rawBody?: string });
      assert.ok(reply.status < 500, `POST ${JSON.stringify(options)} -> ${reply.status} ${JSON.stringify(reply.body)}`);
      if (reply.status >= 400) assert.equal(typeof errorOf(reply).code, 'string');
    }),
    { numRuns: 200 },
  );
  await fc.assert(
    fc.asyncProperty(body(patchLike), async (options) => {
      const reply = await call('PATCH', `/v1/instances/${name}`, options as { body?: unknown; rawBody?: string });
      assert.ok(reply.status < 500, `PATCH ${JSON.stringify(options)} -> ${reply.status} ${JSON.stringify(reply.body)}`);
      if (reply.status >= 400) assert.equal(typeof errorOf(reply).code, 'string');
    }),
    { numRuns: 200 },
  );
});

test('503 unavailable with Retry-After when Temporal or PostgreSQL cannot be reached', async () => {
  const { tenant, token } = await h.tenant('down');

  // Temporal: nothing listens on the address. (No gRPC retries: a retry timer would outlive the test.)
  const noRetries = makeGrpcRetryInterceptor({ retryableDecider: () => false, delayFunction: () => 0 });
  const deadConnection = Connection.lazy({ address: '127.0.0.1:9', interceptors: [noRetries] });
  const deadClient = new Client({ connection: deadConnection, namespace: testEnv.temporalNamespace });
  const noTemporal = buildApp({ client: deadClient, pool: h.pool, taskQueue: h.taskQueue, temporalTimeoutMs: 1_500 });
  // PostgreSQL: nothing listens either.
  const deadPool = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:9/claimflow', connectionTimeoutMillis: 1_000 });
  const noDatabase = buildApp({ client: h.client, pool: deadPool, taskQueue: h.taskQueue });
  const noWorker = buildApp({ client: h.client, pool: h.pool, taskQueue: uniqueName('nobody-polls'), temporalTimeoutMs: 1_500 });
  try {
    const withoutTemporal = apiClient(noTemporal, token);
    const create = await withoutTemporal('POST', '/v1/instances', { body: { name: uniqueName('db'), version: '15.10', size: 'small' } });
    expectError(create, 503, 'unavailable');
    assert.equal(create.headers['retry-after'], '5');
    const command = await withoutTemporal('POST', `/v1/instances/${uniqueName('db')}/restart`);
    expectError(command, 503, 'unavailable');
    const notReady = await withoutTemporal('GET', '/readyz');
    assert.equal(notReady.status, 503);
    assert.equal(notReady.headers['retry-after'], '5');

    const withoutDatabase = apiClient(noDatabase, token);
    const list = await withoutDatabase('GET', '/v1/instances');
    expectError(list, 503, 'unavailable');
    assert.equal(list.headers['retry-after'], '5');
    assert.equal((await withoutDatabase('GET', '/readyz')).status, 503);
    assert.equal((await withoutDatabase('GET', '/healthz')).status, 200);

    // Temporal answers but no worker polls the instance's task queue: a command is never accepted.
    const withoutWorker = apiClient(noWorker, token);
    const name = uniqueName('db');
    const created = await withoutWorker<CreatedBody>('POST', '/v1/instances', { body: { name, version: '15.10', size: 'small' } });
    assert.equal(created.status, 202);
    const stuck = await withoutWorker('POST', `/v1/instances/${name}/restart`);
    expectError(stuck, 503, 'unavailable');
    assert.equal(stuck.headers['retry-after'], '5');
    expectError(await withoutWorker('GET', `/v1/instances/${name}/operations/${created.body.operation.id}`), 503, 'unavailable');
    await h.client.workflow.getHandle(workflowIdFor(tenant, name)).terminate('test over');
  } finally {
    await noWorker.close();
    await noTemporal.close();
    await noDatabase.close();
    await deadPool.end();
    await deadConnection.close();
  }
});

/** An instance the tests below end by hand: its tenant's client, a spec with a backup policy, its workflow, the resume target, its events. */
async function instanceToEnd(tenantPrefix: string) {
  const { tenant, token } = await h.tenant(tenantPrefix);
  const call = apiClient(h.app, token);
  const name = uniqueName('db');
  const spec = { name, version: '15.10', size: 'small', backup: { schedule: '0 3 * * *', retention: 5 } } as const;
  const workflow = h.client.workflow.getHandle(workflowIdFor(tenant, name));
  const target = { client: h.client, pool: h.pool, taskQueue: h.taskQueue, lifecycleSettings: FAST_SETTINGS };
  const events = async () => (await call<{ items: { type: string; actor: string; reason?: string }[] }>('GET', `/v1/instances/${name}/events`)).body.items;
  return { tenant, call, name, spec, workflow, target, events };
}

test('an instance whose workflow ended outside claimflow is 409 instance_not_running until the platform team resumes it', async () => {
  const { tenant, call, name, spec, workflow } = await instanceToEnd('ended');
  await createReady(call, spec);
  const { runId: endedRun } = await workflow.describe();
  await workflow.terminate('ended by hand, as from the Temporal UI');
  const claim = await kube.get('postgresqlinstances', tenantNamespace(tenant), name);

  for (const [method, path, body] of [
    ['PATCH', `/v1/instances/${name}`, { size: 'medium' }],
    ['POST', `/v1/instances/${name}/backups`, undefined],
    ['DELETE', `/v1/instances/${name}`, undefined],
  ] as const) {
    const refused = await call(method, path, body ? { body } : {});
    expectError(refused, 409, 'instance_not_running');
    assert.match(errorOf(refused).message, new RegExp(`instance ${name} .*terminated at `));
  }
  // The same name again, even with another spec, starts nothing: the claim keeps the spec it had.
  expectError(await call('POST', '/v1/instances', { body: { name, version: '15.10', size: 'large' } }), 409, 'instance_not_running');
  assert.equal((await workflow.describe()).status.name, 'TERMINATED');
  assert.deepEqual((await kube.get('postgresqlinstances', tenantNamespace(tenant), name))?.spec, claim?.spec);
  // The read model still shows the instance as it was: nothing happened to it.
  assert.equal((await call<InstanceView>('GET', `/v1/instances/${name}`)).body.phase, 'ready');

  // The remedy README gives: the platform team's script resets the ended run to its last task,
  // and the instance carries on from its history.
  const resumed = await resumeScript(tenant, name);
  assert.match(resumed, new RegExp(`${tenant}/${name}: the terminated run ${endedRun} was reset to its last workflow task`));
  assert.match(await resumeScript(tenant, name), /its workflow is running .*nothing to do/);
  await eventually('the reset run to be idle', async () => ((await workflow.query(stateQuery))?.runningOperation === null ? true : undefined));
  const resized = await call<Accepted>('PATCH', `/v1/instances/${name}`, { body: { size: 'medium' } });
  assert.equal(resized.status, 202, JSON.stringify(resized.body));
  assert.equal((await settled(call, name, resized.body.operation.id)).status, 'succeeded');
  const view = (await call<InstanceView>('GET', `/v1/instances/${name}`)).body;
  assert.equal(view.size, 'medium');
  assert.deepEqual(view.backupPolicy, spec.backup);
});

/** `npm run instance:resume` as README runs it, against this harness's stack and task queue; its output. */
async function resumeScript(tenant: string, name: string): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'scripts/instance-resume.ts', '--tenant', tenant, '--name', name, '--reason', 'ended by mistake'], {
    env: {
      ...process.env, TEMPORAL_ADDRESS: testEnv.temporalAddress, TEMPORAL_NAMESPACE: testEnv.temporalNamespace,
      DATABASE_URL: testEnv.databaseUrl, TEMPORAL_TASK_QUEUE: h.taskQueue,
    },
  });
  return stdout;
}

test('an instance whose newest run Temporal no longer has is taken over from the read model: an operation it cannot finish is abandoned, its Schedules made again', async () => {
  const { tenant, call, name, spec, workflow, target, events } = await instanceToEnd('gone');
  await createReady(call, spec);
  // An earlier run ended by hand and resumed: Temporal keeps its history after the newest run's is gone.
  await workflow.terminate('ended by hand');
  assert.equal((await resumeInstance(target, { tenant, name, reason: 'by mistake', actor: 'platform:ops' })).outcome, 'reset');
  // The reset run carries on from its last completed workflow task, which can come before the end
  // of the provisioning the read model already shows: it finishes that again first.
  await eventually('the reset run to be idle', async () => ((await workflow.query(stateQuery))?.runningOperation === null ? true : undefined));
  // A maintenance run that will not finish while its workflow runs, holding one of the fleet's
  // slots: it is what the workflow was doing when it was ended. Its window and its slot were that
  // workflow's, so a takeover fails it as abandoned and hands the slot back.
  await annotateClaim(tenant, name, { 'sim.claimflow.io/op-delay-ms': '600000' });
  const triggered = await call<{ maintenance: { runId: string } }>('POST', `/v1/instances/${name}/maintenance`);
  assert.equal(triggered.status, 202, JSON.stringify(triggered.body));
  const operationId = triggered.body.maintenance.runId;
  await eventually('the maintenance to run', async () => ((await events()).at(-1)?.type === 'UpgradeStarted' ? true : undefined));
  const fleet = h.client.workflow.getHandle(h.fleetWorkflowId);
  assert.ok((await fleet.query(fleetStatusQuery)).running.includes(workflow.workflowId), 'the run holds a slot');

  // Ended by hand again, and that run's history deleted (as retention would), the backup Schedule with it.
  await terminateAndForget(workflow);
  await h.client.schedule.getHandle(backupScheduleId(tenant, name)).delete();
  expectError(await call('POST', `/v1/instances/${name}/restart`), 409, 'instance_not_running');

  // Temporal answers for the workflow with its newest run only: a takeover, not a reset of the earlier run.
  const outcome = await resumeInstance(target, { tenant, name, reason: 'terminated by mistake a long time ago', actor: 'platform:ops' });
  assert.equal(outcome.outcome, 'adopted');
  assert.deepEqual(outcome.outcome === 'adopted' && outcome.abandonedOperation, { id: operationId, type: 'maintenance' });

  const abandoned = await eventually('the run to be failed', async () => {
    const view = (await call<InstanceView>('GET', `/v1/instances/${name}`)).body;
    return view.lastOperation?.id === operationId ? view : undefined;
  });
  assert.deepEqual([abandoned.lastOperation?.status, abandoned.lastOperation?.error?.reason, abandoned.maintenance?.status], ['failed', 'Abandoned', 'failed']);
  await eventually('the slot to be handed back', async () => ((await fleet.query(fleetStatusQuery)).running.includes(workflow.workflowId) ? undefined : true));
  const adoptedEvent = (await events()).at(-1);
  assert.deepEqual(adoptedEvent && [adoptedEvent.type, adoptedEvent.actor, adoptedEvent.reason], ['InstanceAdopted', 'platform:ops', 'terminated by mistake a long time ago']);
  await eventually('the backup Schedule to be made again', () => h.client.schedule.getHandle(backupScheduleId(tenant, name)).describe());
  // A client retrying the abandoned request gets the first answer: the log's requests count as handled.
  const retried = await workflow.executeUpdate(maintenanceUpdate, {
    args: [{ runId: operationId, actor: `${tenant}:retry`, trigger: 'manual', windowEndsAt: new Date(Date.now() + 3_600_000).toISOString(), report: false }],
  });
  assert.equal(retried.status, 'duplicate');

  // It takes commands again, and its spec is what it was.
  await annotateClaim(tenant, name, { 'sim.claimflow.io/op-delay-ms': null });
  const resized = await call<Accepted>('PATCH', `/v1/instances/${name}`, { body: { size: 'medium' } });
  assert.equal(resized.status, 202, JSON.stringify(resized.body));
  assert.equal((await settled(call, name, resized.body.operation.id)).status, 'succeeded');
  const view = (await call<InstanceView>('GET', `/v1/instances/${name}`)).body;
  assert.deepEqual([view.phase, view.size, view.backupPolicy], ['ready', 'medium', spec.backup]);
  // A second resume finds it running and does nothing.
  assert.equal((await resumeInstance(target, { tenant, name, reason: 'again', actor: 'platform:ops' })).outcome, 'running');
  // The adopting run replays; RECORD_ADOPTION_HISTORY=<name> keeps it as a fixture for test/unit/replay.test.ts.
  const adopted = await workflow.fetchHistory();
  await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, adopted);
  recordHistoryFixture('RECORD_ADOPTION_HISTORY', adopted);
});

test('a provisioning, a backup, an upgrade and a deprovisioning whose workflow Temporal no longer has go on after a takeover: the cluster\'s answer ends them', async () => {
  const { tenant, call, name, spec, workflow, target, events } = await instanceToEnd('regone');
  const eventTypes = async () => (await events()).map((event) => event.type);

  // A cluster that takes its time: the workflow is waiting for the claim's Ready when it is ended.
  await precreateClaim(tenant, spec, { 'sim.claimflow.io/ready-delay-ms': '600000' });
  const created = await call<CreatedBody>('POST', '/v1/instances', { body: spec });
  assert.equal(created.status, 202, JSON.stringify(created.body));
  const provisioning = created.body.operation.id;
  await eventually('the claim applied', async () => ((await eventTypes()).at(-1) === 'ClaimApplied' ? true : undefined));
  await terminateAndForget(workflow);

  const adopted = await resumeInstance(target, { tenant, name, reason: 'provisioning ended by mistake', actor: 'platform:ops' });
  assert.deepEqual(adopted.outcome === 'adopted' && [adopted.resumedOperation, adopted.abandonedOperation], [{ id: provisioning, type: 'provision' }, undefined]);
  await eventually('the provisioning to go on', async () => ((await eventTypes()).slice(-2).join() === 'InstanceAdopted,ClaimApplied' ? true : undefined));
  assert.equal((await call<InstanceView>('GET', `/v1/instances/${name}`)).body.phase, 'provisioning');
  await annotateClaim(tenant, name, { 'sim.claimflow.io/ready-delay-ms': null });
  const provisioned = await settled(call, name, provisioning);
  assert.equal(provisioned.status, 'succeeded', JSON.stringify(provisioned));
  const ready = (await call<InstanceView>('GET', `/v1/instances/${name}`)).body;
  assert.deepEqual([ready.phase, ready.backupPolicy], ['ready', spec.backup]);
  await h.client.schedule.getHandle(backupScheduleId(tenant, name)).describe();
  assert.deepEqual((await eventTypes()).slice(-4), ['ClaimApplied', 'InstanceAdopted', 'ClaimApplied', 'InstanceReady']);

  // A scheduled backup the cluster is slow to finish: its SGBackup, by the name the log holds, is
  // awaited again, and the Schedule's run, which waits for the instance's report, is told.
  await annotateClaim(tenant, name, { 'sim.claimflow.io/backup-delay-ms': '600000' });
  await h.client.schedule.getHandle(backupScheduleId(tenant, name)).trigger(ScheduleOverlapPolicy.ALLOW_ALL);
  const backupsNow = async () => (await call<{ items: Backup[] }>('GET', `/v1/instances/${name}/backups`)).body.items;
  const slow = await eventually('the backup to run', async () => (await backupsNow()).find((b) => b.status === 'running'));
  const backupRun = (await call<InstanceView>('GET', `/v1/instances/${name}`)).body.runningOperation?.id;
  assert.ok(backupRun, 'the backup runs under its Schedule run\'s id');
  await terminateAndForget(workflow);
  const third = await resumeInstance(target, { tenant, name, reason: 'backup ended by mistake', actor: 'platform:ops' });
  assert.deepEqual(third.outcome === 'adopted' && third.resumedOperation, { id: backupRun, type: 'backup' });
  await annotateClaim(tenant, name, { 'sim.claimflow.io/backup-delay-ms': null });
  const backedUp = await settled(call, name, backupRun);
  assert.equal(backedUp.status, 'succeeded', JSON.stringify(backedUp));
  assert.deepEqual((await backupsNow()).map((b) => [b.name, b.purpose, b.status]), [[slow.name, 'scheduled', 'completed']]);
  assert.deepEqual(await h.client.workflow.getHandle(backupRun).result(), { runId: backupRun, status: 'completed', detail: `backup ${slow.name}` });
  assert.deepEqual((await eventTypes()).slice(-3), ['BackupRequested', 'InstanceAdopted', 'BackupCompleted']);

  // A minor upgrade whose SGDbOps waits behind an operation someone runs by hand (StackGres runs one
  // at a time per cluster): that SGDbOps, by the name the log holds, is awaited again, and the
  // claim then records the new version.
  const namespace = tenantNamespace(tenant);
  const byHand = `${name}-by-hand`;
  const holdsTheCluster = { name: byHand, annotations: { 'sim.claimflow.io/delay-ms': '600000' } };
  await kube.create('sgdbops', namespace, { metadata: holdsTheCluster, spec: { sgCluster: name, op: 'restart' } });
  const upgrade = await call<Accepted>('POST', `/v1/instances/${name}/upgrades`, { body: { version: '15.12' } });
  assert.equal(upgrade.status, 202, JSON.stringify(upgrade.body));
  await eventually('the upgrade to wait', async () => ((await eventTypes()).at(-1) === 'UpgradeStarted' && (await kube.list('sgdbops', namespace)).length === 2 ? true : undefined));
  await terminateAndForget(workflow);
  const fourth = await resumeInstance(target, { tenant, name, reason: 'upgrade ended by mistake', actor: 'platform:ops' });
  assert.deepEqual(fourth.outcome === 'adopted' && fourth.resumedOperation, { id: upgrade.body.operation.id, type: 'minor-upgrade' });
  await kube.remove('sgdbops', namespace, byHand);
  const upgraded = await settled(call, name, upgrade.body.operation.id);
  assert.equal(upgraded.status, 'succeeded', JSON.stringify(upgraded));
  assert.equal((await call<InstanceView>('GET', `/v1/instances/${name}`)).body.version, '15.12');
  assert.equal((await kube.get('postgresqlinstances', namespace, name))?.spec.parameters.postgres.version, '15.12');
  assert.equal((await kube.list('sgdbops', namespace)).length, 1, 'the takeover adopted the SGDbOps it found rather than make another');
  assert.deepEqual((await eventTypes()).slice(-3), ['UpgradeStarted', 'InstanceAdopted', 'UpgradeCompleted']);

  // Deleted with a final backup the cluster is slow to take: the backup is awaited again, then the
  // claim deleted, as the deprovisioning would have.
  await annotateClaim(tenant, name, { 'sim.claimflow.io/backup-delay-ms': '600000' });
  const deletion = await call<Accepted>('DELETE', `/v1/instances/${name}`);
  assert.equal(deletion.status, 202, JSON.stringify(deletion.body));
  const deprovisioning = deletion.body.operation.id;
  await eventually('the final backup to run', async () => ((await backupsNow()).some((b) => b.purpose === 'final') ? true : undefined));
  await terminateAndForget(workflow);
  await h.client.schedule.getHandle(backupScheduleId(tenant, name)).delete();

  const again = await resumeInstance(target, { tenant, name, reason: 'deprovisioning ended by mistake', actor: 'platform:ops' });
  assert.deepEqual(again.outcome === 'adopted' && again.resumedOperation, { id: deprovisioning, type: 'deprovision' });
  assert.equal((await call<InstanceView>('GET', `/v1/instances/${name}`)).body.phase, 'deprovisioning');
  await annotateClaim(tenant, name, { 'sim.claimflow.io/backup-delay-ms': null });
  const deprovisioned = await settled(call, name, deprovisioning);
  assert.equal(deprovisioned.status, 'succeeded', JSON.stringify(deprovisioned));
  assert.equal(await kube.get('postgresqlinstances', tenantNamespace(tenant), name), undefined);
  // The read model has the deletion from the projection inside the workflow's last task, a moment
  // before the server records that task's completion of the workflow.
  await eventually('the workflow to complete', async () => ((await workflow.describe()).status.name === 'COMPLETED' ? true : undefined));
  await assert.rejects(h.client.schedule.getHandle(backupScheduleId(tenant, name)).describe());
  assert.equal((await call<InstanceView>('GET', `/v1/instances/${name}`)).body.phase, 'deleted');
  assert.deepEqual((await eventTypes()).slice(-5), ['BackupRequested', 'InstanceAdopted', 'FinalBackupTaken', 'ClaimDeleted', 'InstanceDeleted']);
  // The run that went on replays; RECORD_RESUMED_ADOPTION_HISTORY=<name> keeps it as a fixture.
  const resumedRun = await workflow.fetchHistory();
  await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, resumedRun);
  recordHistoryFixture('RECORD_RESUMED_ADOPTION_HISTORY', resumedRun);
});

/** Ends a workflow's newest run by hand and deletes its history, as Temporal's retention would. */
async function terminateAndForget(workflow: ReturnType<ApiHarness['client']['workflow']['getHandle']>): Promise<void> {
  const { runId } = await workflow.describe();
  await workflow.terminate('ended by hand');
  await h.client.workflowService.deleteWorkflowExecution({ namespace: h.client.options.namespace, workflowExecution: { workflowId: workflow.workflowId, runId } });
  const newest = h.client.workflow.getHandle(workflow.workflowId, runId);
  // The server deletes a history in a task of its own: seconds here, once about fifty.
  await eventually('the history to be deleted', async () => ((await newest.describe().then(() => false, () => true)) ? true : undefined), 180_000);
}
