// The HTTP API against the real stack: a worker on its own task queue, the app under test, the
// read model in the harness's database and the cluster simulator (300 ms delays). Each test works
// on instances of a fresh tenant; waits poll for outcomes (no timing assertions).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { AddressInfo } from 'node:net';
import type { ErrorBody } from '../../src/api/errors.js';
import type { Backup, CreatedBody, EventView, InstanceView, Operation, OperationRef } from '../../src/api/schemas.js';
import { connectionSecretName, defaultMaintenanceWindow, nextMaintenanceAt, workflowIdFor } from '../../src/domain/index.js';
import { apiClient, errorOf, eventually, settled, startApiHarness, type ApiHarness, type Call } from '../support/api.js';
import { uniqueName } from '../support/env.js';

const NOW = new Date('2031-03-05T12:34:00Z');

let h: ApiHarness;

before(async () => {
  h = await startApiHarness({ clock: () => NOW });
});

after(async () => {
  await h?.stop();
});

type Accepted = { operation: OperationRef };
type Events = { items: EventView[]; lastSeq: number };
type State = { at: string; state: { phase: string; version: string | null; size: string; lastSeq: number } };

/**
 * Creates and waits for Ready. A name whose deletion just succeeded may answer the documented 409
 * with Retry-After (its old workflow still ending); a client retries it as told.
 */
async function createReady(call: Call, body: Record<string, unknown>): Promise<{ created: CreatedBody; instance: InstanceView }> {
  const reply = await eventually(`POST /v1/instances ${String(body.name)} to be accepted`, async () => {
    const answer = await call<CreatedBody>('POST', '/v1/instances', { body });
    if (answer.status === 409 && answer.headers['retry-after'] !== undefined) return undefined;
    return answer;
  });
  assert.equal(reply.status, 202, JSON.stringify(reply.body));
  const provision = await settled(call, String(body.name), reply.body.operation.id);
  assert.equal(provision.status, 'succeeded', JSON.stringify(provision));
  const instance = await call<InstanceView>('GET', `/v1/instances/${String(body.name)}`);
  assert.equal(instance.body.phase, 'ready');
  return { created: reply.body, instance: instance.body };
}

async function accepted(call: Call, method: 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown): Promise<OperationRef> {
  const reply = await call<Accepted>(method, url, body === undefined ? {} : { body });
  assert.equal(reply.status, 202, `${method} ${url}: ${JSON.stringify(reply.body)}`);
  assert.equal(reply.body.operation.status, 'accepted');
  assert.equal(reply.headers.location, `${url.split('?')[0]!.replace(/\/(restart|upgrades|backups(\/[^/]+)?)$/, '')}/operations/${reply.body.operation.id}`);
  return reply.body.operation;
}

async function succeeded(call: Call, name: string, operation: OperationRef): Promise<Operation> {
  const done = await settled(call, name, operation.id);
  assert.equal(done.status, 'succeeded', JSON.stringify(done));
  assert.equal(done.type, operation.type);
  return done;
}

/** Follows ?follow=true over real HTTP until the server ends the stream; returns the events it sent. */
async function follow(token: string, name: string): Promise<{ contentType: string | null; events: EventView[] }> {
  const { port } = h.app.server.address() as AddressInfo;
  const response = await fetch(`http://127.0.0.1:${port}/v1/instances/${name}/events?follow=true`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200);
  const events: EventView[] = [];
  let buffer = '';
  const decoder = new TextDecoder();
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const message = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = message.split('\n').find((line) => line.startsWith('data: '));
      if (data) events.push(JSON.parse(data.slice('data: '.length)) as EventView);
    }
  }
  return { contentType: response.headers.get('content-type'), events };
}

test('an instance lives its whole life through HTTP', async () => {
  const { tenant, token } = await h.tenant('life');
  const call = apiClient(h.app, token);
  const name = uniqueName('db');

  // create -> Ready
  const created = await call<CreatedBody>('POST', '/v1/instances', { body: { name, version: '15.10', size: 'small' } });
  assert.equal(created.status, 202, JSON.stringify(created.body));
  assert.equal(created.headers.location, `/v1/instances/${name}`);
  assert.equal(created.body.operation.type, 'provision');
  assert.equal(created.body.instance.phase, 'provisioning');
  assert.deepEqual(created.body.instance.spec.maintenanceWindow, defaultMaintenanceWindow(tenant, name));
  const provision = await settled(call, name, created.body.operation.id);
  assert.equal(provision.status, 'succeeded');
  assert.equal(provision.actor, 'tenant:tests');

  const ready = (await call<InstanceView>('GET', `/v1/instances/${name}`)).body;
  assert.equal(ready.id, created.body.instance.id);
  assert.equal(ready.phase, 'ready');
  assert.equal(ready.version, '15.10');
  assert.equal(ready.size, 'small');
  assert.equal(ready.pendingRestart, false);
  assert.equal(ready.runningOperation, null);
  assert.equal(ready.lastOperation?.id, created.body.operation.id);
  assert.deepEqual(ready.maintenanceWindow, defaultMaintenanceWindow(tenant, name));
  assert.equal(ready.nextMaintenanceAt, nextMaintenanceAt(defaultMaintenanceWindow(tenant, name), NOW).toISOString());

  const listed = await call<{ items: InstanceView[] }>('GET', '/v1/instances');
  assert.deepEqual(listed.body.items.map((item) => item.name), [name]);

  const connection = await call<Record<string, unknown>>('GET', `/v1/instances/${name}/connection`);
  assert.equal(connection.status, 200);
  assert.deepEqual(Object.keys(connection.body).sort(), ['database', 'host', 'port', 'secretName', 'user']);
  assert.equal(connection.body.secretName, connectionSecretName(name));
  assert.equal(typeof connection.body.port, 'number');

  // the event stream, followed from here to the end
  const streamed = follow(token, name);
  streamed.catch(() => undefined);

  // scale
  const scale = await accepted(call, 'PATCH', `/v1/instances/${name}`, { size: 'medium' });
  assert.equal(scale.type, 'scale');
  await succeeded(call, name, scale);
  const scaled = (await call<InstanceView>('GET', `/v1/instances/${name}`)).body;
  assert.equal(scaled.size, 'medium');
  assert.equal(scaled.pendingRestart, false);

  // minor upgrade, then major upgrade
  const minor = await accepted(call, 'POST', `/v1/instances/${name}/upgrades`, { version: '15.13' });
  assert.equal(minor.type, 'minor-upgrade');
  await succeeded(call, name, minor);
  assert.equal((await call<InstanceView>('GET', `/v1/instances/${name}`)).body.version, '15.13');

  const major = await accepted(call, 'POST', `/v1/instances/${name}/upgrades`, { version: '16.9' });
  assert.equal(major.type, 'major-upgrade');
  await succeeded(call, name, major);
  assert.equal((await call<InstanceView>('GET', `/v1/instances/${name}`)).body.version, '16.9');

  // security patches, a restart, a change of settings
  const security = await accepted(call, 'POST', `/v1/instances/${name}/upgrades`, { type: 'security' });
  assert.equal(security.type, 'security-upgrade');
  await succeeded(call, name, security);
  const restart = await accepted(call, 'POST', `/v1/instances/${name}/restart`);
  assert.equal(restart.type, 'restart');
  await succeeded(call, name, restart);
  const window = { dayOfWeek: 'tuesday', timeOfDay: '02:30', durationMinutes: 90 };
  const settings = await accepted(call, 'PATCH', `/v1/instances/${name}`, { maintenanceWindow: window, backup: { schedule: '0 3 * * *', retention: 5 } });
  assert.equal(settings.type, 'change-settings');
  await succeeded(call, name, settings);
  const configured = (await call<InstanceView>('GET', `/v1/instances/${name}`)).body;
  assert.deepEqual(configured.maintenanceWindow, window);
  assert.deepEqual(configured.backupPolicy, { schedule: '0 3 * * *', retention: 5 });
  assert.equal(configured.nextMaintenanceAt, nextMaintenanceAt(window as never, NOW).toISOString());

  // backup
  const backup = await accepted(call, 'POST', `/v1/instances/${name}/backups`, { reason: 'before the migration' });
  assert.equal(backup.type, 'backup');
  await succeeded(call, name, backup);
  const backups = (await call<{ items: Backup[] }>('GET', `/v1/instances/${name}/backups`)).body.items;
  const onDemand = backups.find((item) => item.requestId === backup.id);
  assert.ok(onDemand, 'the on-demand backup is listed');
  assert.equal(onDemand?.status, 'completed');
  assert.equal(onDemand?.purpose, 'on-demand');
  assert.ok((onDemand?.sizeBytes ?? 0) > 0);
  assert.ok(backups.some((item) => item.purpose === 'pre-upgrade' && item.requestId === major.id && item.status === 'completed'));
  assert.equal((await call<InstanceView>('GET', `/v1/instances/${name}`)).body.lastBackup?.name, onDemand?.name);

  // deleting a backup: gone from the list (and the cluster), kept with deletedAt when asked for
  const backupDeletion = await accepted(call, 'DELETE', `/v1/instances/${name}/backups/${onDemand.name}?reason=superseded`);
  assert.equal(backupDeletion.type, 'delete-backup');
  await succeeded(call, name, backupDeletion);
  const backupsListed = async (query = '') => (await call<{ items: Backup[] }>('GET', `/v1/instances/${name}/backups${query}`)).body.items;
  assert.ok(!(await backupsListed()).some((item) => item.name === onDemand.name));
  assert.ok((await backupsListed('?deleted=true')).find((item) => item.name === onDemand.name)?.deletedAt);
  assert.notEqual((await call<InstanceView>('GET', `/v1/instances/${name}`)).body.lastBackup?.name, onDemand?.name);
  const deletedAgain = await call('DELETE', `/v1/instances/${name}/backups/${onDemand.name}`);
  assert.equal(deletedAgain.status, 404, JSON.stringify(deletedAgain.body));
  assert.match(errorOf(deletedAgain).message, /no backup/);

  // events: ordered, gapless, and pageable
  const events = (await call<Events>('GET', `/v1/instances/${name}/events`)).body;
  assert.deepEqual(events.items.map((event) => event.seq), events.items.map((_, index) => index + 1));
  assert.equal(events.lastSeq, events.items.length);
  const types = events.items.map((event) => event.type);
  for (const type of ['InstanceRequested', 'InstanceReady', 'ScaleCompleted', 'UpgradeCompleted', 'RestartCompleted', 'SettingsChanged', 'BackupCompleted']) {
    assert.ok(types.includes(type), `${type} in ${types.join(', ')}`);
  }
  assert.equal(events.items.find((event) => event.requestId === backup.id)?.reason, 'before the migration');
  const page = (await call<Events>('GET', `/v1/instances/${name}/events?after=3&limit=2`)).body;
  assert.deepEqual(page.items.map((event) => event.seq), [4, 5]);
  assert.equal(page.lastSeq, 5);

  // what was asked of it, newest first: filtered, and paged with an opaque cursor
  type Operations = { items: Operation[]; nextCursor: string | null };
  const operationsPage = async (query: string) => (await call<Operations>('GET', `/v1/instances/${name}/operations${query}`)).body;
  const asked = [created.body.operation.id, scale.id, minor.id, major.id, security.id, restart.id, settings.id, backup.id, backupDeletion.id].reverse();
  const allOperations = await operationsPage('?limit=100');
  assert.deepEqual(allOperations.items.map((operation) => operation.id), asked);
  assert.equal(allOperations.nextCursor, null);
  assert.ok(allOperations.items.every((operation) => operation.status === 'succeeded' && operation.actor === 'tenant:tests'));
  const firstTwo = await operationsPage('?limit=2');
  assert.deepEqual(firstTwo.items.map((operation) => operation.id), asked.slice(0, 2));
  const nextTwo = await operationsPage(`?limit=2&cursor=${firstTwo.nextCursor}`);
  assert.deepEqual(nextTwo.items.map((operation) => operation.id), asked.slice(2, 4));
  assert.deepEqual((await operationsPage('?type=minor-upgrade')).items.map((operation) => operation.id), [minor.id]);
  assert.deepEqual((await operationsPage('?status=failed')).items, []);
  const badCursor = await call('GET', `/v1/instances/${name}/operations?cursor=bm9wZQ`);
  assert.equal(badCursor.status, 400);
  assert.deepEqual(errorOf(badCursor).fields?.map((field) => field.path), ['query.cursor']);

  // the state as it was when the instance became ready
  const readyEvent = events.items.find((event) => event.type === 'InstanceReady')!;
  const then = await call<State>('GET', `/v1/instances/${name}/state?at=${encodeURIComponent(readyEvent.at)}`);
  assert.equal(then.status, 200);
  assert.equal(then.body.state.phase, 'ready');
  assert.equal(then.body.state.version, '15.10');
  assert.equal(then.body.state.size, 'small');
  assert.equal(then.body.state.lastSeq, readyEvent.seq);
  const before = await call('GET', `/v1/instances/${name}/state?at=2001-01-01T00:00:00Z`);
  assert.equal(before.status, 404);
  assert.equal(errorOf(before).code, 'not_found');

  // delete (with the final backup)
  const deletion = await accepted(call, 'DELETE', `/v1/instances/${name}`);
  assert.equal(deletion.type, 'deprovision');
  await succeeded(call, name, deletion);
  const gone = (await call<InstanceView>('GET', `/v1/instances/${name}`)).body;
  assert.equal(gone.phase, 'deleted');
  assert.equal(gone.nextMaintenanceAt, null);
  assert.equal((await call('GET', `/v1/instances/${name}/connection`)).status, 404);
  assert.deepEqual((await call<{ items: InstanceView[] }>('GET', '/v1/instances')).body.items, []);
  assert.deepEqual((await call<{ items: InstanceView[] }>('GET', '/v1/instances?phase=deleted')).body.items.map((item) => item.id), [ready.id]);
  const after = (await call<Events>('GET', `/v1/instances/${name}/events`)).body.items;
  assert.equal(after.at(-1)?.type, 'InstanceDeleted');
  assert.ok(after.some((event) => event.type === 'FinalBackupTaken'));
  const commandOnDeleted = await call('POST', `/v1/instances/${name}/restart`);
  assert.equal(commandOnDeleted.status, 404);
  assert.equal(errorOf(commandOnDeleted).code, 'not_found');

  // the stream ended by itself after InstanceDeleted, with every event in order
  const stream = await streamed;
  assert.match(stream.contentType ?? '', /^text\/event-stream/);
  assert.deepEqual(stream.events, after);

  // the name can be used again: a new instance, deleted without a final backup
  const again = await createReady(call, { name, version: '16.9', size: 'small' });
  assert.notEqual(again.created.instance.id, ready.id);
  const quick = await accepted(call, 'DELETE', `/v1/instances/${name}?finalBackup=false`);
  await succeeded(call, name, quick);
  const secondLife = (await call<Events>('GET', `/v1/instances/${name}/events`)).body.items;
  assert.equal(secondLife[0]?.data.instanceId, again.created.instance.id);
  assert.equal(secondLife.at(-1)?.type, 'InstanceDeleted');
  assert.ok(!secondLife.some((event) => event.type === 'FinalBackupTaken'));
});

test("another tenant's token sees nothing and changes nothing", async () => {
  const owner = await h.tenant('own');
  const stranger = await h.tenant('oth');
  const mine = apiClient(h.app, owner.token);
  const theirs = apiClient(h.app, stranger.token);
  const name = uniqueName('db');
  const { created } = await createReady(mine, { name, version: '15.10', size: 'small' });
  const before = (await mine<Events>('GET', `/v1/instances/${name}/events`)).body;
  const base = `/v1/instances/${name}`;

  const reads = [
    base, `${base}/connection`, `${base}/backups`, `${base}/events`, `${base}/state?at=2040-01-01T00:00:00Z`,
    `${base}/operations`, `${base}/operations/${created.operation.id}`,
  ];
  for (const url of reads) {
    const reply = await theirs('GET', url);
    assert.equal(reply.status, 404, `GET ${url}`);
    assert.equal(errorOf(reply).code, 'not_found');
  }
  const commands: [method: 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown][] = [
    ['PATCH', base, { size: 'large' }],
    ['PATCH', base, { deletionProtection: true }],
    ['POST', `${base}/restart`],
    ['POST', `${base}/upgrades`, { version: '15.13' }],
    ['POST', `${base}/upgrades`, { type: 'security' }],
    ['POST', `${base}/backups`],
    ['DELETE', `${base}/backups/${name}-backup-1-abcd`],
    ['DELETE', base],
    ['DELETE', `${base}?finalBackup=false`],
  ];
  for (const [method, url, body] of commands) {
    const reply = await theirs(method, url, body === undefined ? {} : { body });
    assert.equal(reply.status, 404, `${method} ${url}: ${JSON.stringify(reply.body)}`);
    assert.equal(errorOf(reply).code, 'not_found');
  }
  const list = await theirs<{ items: InstanceView[] }>('GET', '/v1/instances');
  assert.deepEqual(list.body.items, []);
  assert.deepEqual((await theirs<{ items: InstanceView[] }>('GET', '/v1/instances?phase=ready')).body.items, []);

  // nothing happened to the owner's instance
  const afterwards = (await mine<Events>('GET', `/v1/instances/${name}/events`)).body;
  assert.deepEqual(afterwards, before);
  const instance = (await mine<InstanceView>('GET', base)).body;
  assert.equal(instance.size, 'small');
  assert.equal(instance.deletionProtection, false);

  // the same name in the other tenant is another instance
  const { created: theirsCreated } = await createReady(theirs, { name, version: '16.9', size: 'small' });
  assert.notEqual(theirsCreated.instance.id, created.instance.id);
  assert.equal((await mine<InstanceView>('GET', base)).body.version, '15.10');
  assert.equal((await theirs<InstanceView>('GET', base)).body.version, '16.9');
  const deleted = await accepted(theirs, 'DELETE', `${base}?finalBackup=false`);
  await succeeded(theirs, name, deleted);
  assert.equal((await mine<InstanceView>('GET', base)).body.phase, 'ready');
  await succeeded(mine, name, await accepted(mine, 'DELETE', `${base}?finalBackup=false`));
});

test('the same Idempotency-Key sent 20 times at once starts one workflow and answers one operation', async () => {
  const { tenant, token } = await h.tenant('idem');
  const call = apiClient(h.app, token);
  const name = uniqueName('db');
  const key = `create-${name}`;
  const body = { name, version: '15.12', size: 'small' };

  const replies = await Promise.all(
    Array.from({ length: 20 }, () => call<CreatedBody>('POST', '/v1/instances', { body, headers: { 'idempotency-key': key } })),
  );
  for (const reply of replies) assert.equal(reply.status, 202, JSON.stringify(reply.body));
  const operationIds = new Set(replies.map((reply) => reply.body.operation.id));
  const instanceIds = new Set(replies.map((reply) => reply.body.instance.id));
  assert.equal(operationIds.size, 1);
  assert.equal(instanceIds.size, 1);
  const [operationId] = operationIds;
  await settled(call, name, operationId!);

  // one workflow, started by that request
  const workflows = await eventually('the workflow to be visible', async () => {
    const found = [];
    for await (const workflow of h.client.workflow.list({ query: `WorkflowType = 'instanceWorkflow' AND ClaimflowTenant = '${tenant}'` })) found.push(workflow);
    return found.length > 0 ? found : undefined;
  });
  assert.deepEqual(workflows.map((workflow) => workflow.workflowId), [workflowIdFor(tenant, name)]);
  const { rows } = await h.pool.query<{ count: string }>(
    `SELECT count(*) FROM instance_events e JOIN instances i USING (instance_id)
     WHERE i.tenant = $1 AND i.name = $2 AND e.type = 'InstanceRequested'`,
    [tenant, name],
  );
  assert.equal(rows[0]?.count, '1');

  // a later repeat replays the stored answer; another request under the key is refused
  const repeat = await call<CreatedBody>('POST', '/v1/instances', { body, headers: { 'idempotency-key': key } });
  assert.equal(repeat.status, 202);
  assert.equal(repeat.headers['idempotent-replayed'], 'true');
  assert.deepEqual(repeat.body, replies[0]!.body);
  const reused = await call('POST', '/v1/instances', { body: { ...body, size: 'medium' }, headers: { 'idempotency-key': key } });
  assert.equal(reused.status, 422);
  assert.equal(errorOf(reused).code, 'idempotency_key_reused');

  // commands collapse the same way
  const backupKey = `backup-${name}`;
  const backups = await Promise.all(
    Array.from({ length: 20 }, () => call<Accepted>('POST', `/v1/instances/${name}/backups`, { headers: { 'idempotency-key': backupKey } })),
  );
  for (const reply of backups) assert.equal(reply.status, 202, JSON.stringify(reply.body));
  const backupIds = new Set(backups.map((reply) => reply.body.operation.id));
  assert.equal(backupIds.size, 1);
  const [backupId] = backupIds;
  assert.equal((await settled(call, name, backupId!)).status, 'succeeded');
  const events = (await call<Events>('GET', `/v1/instances/${name}/events`)).body.items;
  assert.equal(events.filter((event) => event.type === 'BackupRequested' && event.requestId === backupId).length, 1);
  const otherCommand = await call('POST', `/v1/instances/${name}/restart`, { headers: { 'idempotency-key': backupKey } });
  assert.equal(otherCommand.status, 422);
  assert.equal(errorOf(otherCommand).code, 'idempotency_key_reused');

  await succeeded(call, name, await accepted(call, 'DELETE', `/v1/instances/${name}?finalBackup=false`));
});

test('a create repeated with the same spec returns the instance; a different spec is already_exists', async () => {
  const { token } = await h.tenant('dup');
  const call = apiClient(h.app, token);
  const name = uniqueName('db');
  const { created } = await createReady(call, { name, version: '15.10', size: 'small' });

  const same = await call<CreatedBody>('POST', '/v1/instances', { body: { size: 'small', version: '15.10', name } });
  assert.equal(same.status, 200, JSON.stringify(same.body));
  assert.equal(same.body.instance.id, created.instance.id);
  assert.equal(same.body.instance.phase, 'ready');
  assert.deepEqual(same.body.operation, { ...created.operation, status: 'succeeded' });

  const different = await call<ErrorBody>('POST', '/v1/instances', { body: { name, version: '15.10', size: 'medium' } });
  assert.equal(different.status, 409);
  assert.equal(errorOf(different).code, 'already_exists');

  await succeeded(call, name, await accepted(call, 'DELETE', `/v1/instances/${name}?finalBackup=false`));
});

test('the list pages with an opaque cursor and filters by phase, size and version', async () => {
  const { token } = await h.tenant('list');
  const call = apiClient(h.app, token);
  const names = ['alpha', 'bravo', 'charlie', 'delta'].map((prefix) => uniqueName(prefix));
  const specs = [
    { name: names[0], version: '15.10', size: 'small' },
    { name: names[1], version: '16.9', size: 'medium' },
    { name: names[2], version: '16.9', size: 'small' },
    { name: names[3], version: '17.5', size: 'large' },
  ];
  await Promise.all(specs.map((spec) => createReady(call, spec)));

  type Page = { items: InstanceView[]; nextCursor: string | null };
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const query: string = cursor ? `?limit=3&cursor=${cursor}` : '?limit=3';
    const page: Page = (await call<Page>('GET', `/v1/instances${query}`)).body;
    assert.ok(page.items.length <= 3);
    seen.push(...page.items.map((item) => item.name));
    cursor = page.nextCursor;
    pages++;
  } while (cursor);
  assert.equal(pages, 2);
  assert.deepEqual(seen, [...names].sort());

  const listNames = async (query: string) => (await call<Page>('GET', `/v1/instances?${query}`)).body.items.map((item) => item.name);
  assert.deepEqual(await listNames('size=small'), [names[0], names[2]].sort());
  assert.deepEqual(await listNames('version=16.9'), [names[1], names[2]].sort());
  assert.deepEqual(await listNames('version=16.9&size=medium'), [names[1]]);
  assert.deepEqual(await listNames('phase=ready&limit=100'), [...names].sort());
  assert.deepEqual(await listNames('phase=failed'), []);

  await Promise.all(names.map(async (name) => succeeded(call, name, await accepted(call, 'DELETE', `/v1/instances/${name}?finalBackup=false`))));
  assert.deepEqual(await listNames('limit=100'), []);
  assert.deepEqual(await listNames('phase=deleted&limit=100'), [...names].sort());
});

test('health, readiness and the OpenAPI document', async () => {
  const call = apiClient(h.app);
  assert.equal((await call('GET', '/healthz')).status, 200);
  const ready = await call<{ status: string; checks: Record<string, string> }>('GET', '/readyz');
  assert.equal(ready.status, 200);
  assert.deepEqual(ready.body, { status: 'ready', checks: { temporal: 'ok', postgres: 'ok' } });
  const spec = await call<{ openapi: string; paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } }>('GET', '/openapi.json');
  assert.equal(spec.status, 200);
  assert.match(spec.body.openapi, /^3\./);
  for (const path of ['/v1/instances', '/v1/instances/{name}', '/v1/instances/{name}/upgrades', '/v1/instances/{name}/operations/{id}', '/v1/instances/{name}/state']) {
    assert.ok(spec.body.paths[path], `${path} in the OpenAPI document`);
  }
  assert.ok(spec.body.paths['/v1/instances']?.post);
  assert.ok(spec.body.components.schemas.Instance);
  const docs = await h.app.inject({ method: 'GET', url: '/docs' });
  assert.ok([200, 302].includes(docs.statusCode));
  // The UI's own files come through @fastify/static, which package.json pins (overrides).
  const uiScript = await h.app.inject({ method: 'GET', url: '/docs/static/swagger-ui-bundle.js' });
  assert.equal(uiScript.statusCode, 200);
  assert.match(String(uiScript.headers['content-type']), /javascript/);
});
