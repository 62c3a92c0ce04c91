// Webhook subscriptions through HTTP: the secret is made by the API and shown once, a receiver
// gets signed notifications of a failed operation, deliveries are listed, and tenants are isolated.
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, sign } from '../../src/activities/notifications/activities.js';
import type { CreatedBody, DeliveryView, OperationRef, SubscriptionCreated, SubscriptionView } from '../../src/api/schemas.js';
import { annotateClaim, apiClient, errorOf, eventually, settled, startApiHarness, type ApiHarness, type Reply } from '../support/api.js';
import { uniqueName } from '../support/env.js';

interface Received {
  headers: IncomingHttpHeaders;
  raw: string;
  body: { text: string; claimflow: { topic: string; tenant: string; instance: string; event: { type: string; seq: number } } };
}

let h: ApiHarness;
let receiver: Server;
let url: string;
const received: Received[] = [];

before(async () => {
  receiver = createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    request.on('end', () => {
      received.push({ headers: request.headers, raw, body: JSON.parse(raw) as Received['body'] });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const address = receiver.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;
  h = await startApiHarness();
});
after(async () => {
  await h?.stop();
  await new Promise((resolve) => receiver.close(resolve));
});

type Subscriptions = { items: SubscriptionView[] };
type Deliveries = { items: DeliveryView[] };

function expectError(reply: Reply<unknown>, status: number, code: string): void {
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  assert.equal(errorOf(reply).code, code);
}

test('a subscription gets signed notifications of a failed operation; deliveries are listed; other tenants see none of it', async () => {
  const { tenant, token } = await h.tenant('hook');
  const call = apiClient(h.app, token);

  const created = await call<SubscriptionCreated>('POST', '/v1/notifications/subscriptions', { body: { url, topics: ['failures'] } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const { id, secret } = created.body;
  assert.match(secret, /^[0-9a-f]{64}$/, 'a random 32-byte hex secret');
  assert.deepEqual({ url: created.body.url, topics: created.body.topics }, { url, topics: ['failures'] });

  // Shown once: never in the list.
  const listed = await call<Subscriptions>('GET', '/v1/notifications/subscriptions');
  assert.equal(listed.status, 200);
  assert.deepEqual(listed.body.items, [{ id, url, topics: ['failures'], createdAt: created.body.createdAt }]);
  assert.ok(!JSON.stringify(listed.body).includes(secret));

  // An instance whose restart fails.
  const name = uniqueName('db');
  const instance = await call<CreatedBody>('POST', '/v1/instances', { body: { name, version: '15.10', size: 'small' } });
  assert.equal(instance.status, 202);
  assert.equal((await settled(call, name, instance.body.operation.id)).status, 'succeeded');
  await annotateClaim(tenant, name, { 'sim.claimflow.io/fail-ops': 'restart' });
  const restart = await call<{ operation: OperationRef }>('POST', `/v1/instances/${name}/restart`);
  assert.equal(restart.status, 202);
  assert.equal((await settled(call, name, restart.body.operation.id)).status, 'failed');

  const notification = await eventually('the failure notification', () =>
    Promise.resolve(received.find((r) => r.body.claimflow.instance === name && r.body.claimflow.event.type === 'OperationFailed')),
  );
  assert.equal(notification.body.claimflow.tenant, tenant);
  assert.equal(notification.body.claimflow.topic, 'failures');
  const timestamp = String(notification.headers[TIMESTAMP_HEADER]);
  assert.equal(notification.headers[SIGNATURE_HEADER], sign(secret, timestamp, notification.raw), 'signed with the secret the API returned');
  assert.ok(Math.abs(Number(timestamp) - Date.now() / 1000) < 300);
  // Only events of the subscribed topic (failures) of this instance.
  assert.deepEqual(received.filter((r) => r.body.claimflow.instance === name).map((r) => r.body.claimflow.event.type), ['OperationFailed']);

  const delivery = await eventually('the delivery in the list', async () => {
    const deliveries = await call<Deliveries>('GET', '/v1/notifications/deliveries');
    return deliveries.body.items.find((item) => item.status === 'delivered' && item.eventType === 'OperationFailed');
  });
  assert.equal(delivery.subscriptionId, id);
  assert.equal(delivery.instance, name);
  assert.equal(delivery.instanceId, instance.body.instance.id);
  assert.equal(delivery.seq, notification.body.claimflow.event.seq);
  assert.equal(delivery.attempts, 1);
  assert.equal(delivery.lastError, null);
  assert.equal((await call<Deliveries>('GET', '/v1/notifications/deliveries?limit=1')).body.items.length, 1);
  expectError(await call('GET', '/v1/notifications/deliveries?limit=0'), 400, 'invalid_request');

  // Another tenant: sees none of it, cannot delete it.
  const other = apiClient(h.app, (await h.tenant('other')).token);
  assert.deepEqual((await other<Subscriptions>('GET', '/v1/notifications/subscriptions')).body, { items: [] });
  assert.deepEqual((await other<Deliveries>('GET', '/v1/notifications/deliveries')).body, { items: [] });
  expectError(await other('DELETE', `/v1/notifications/subscriptions/${id}`), 404, 'not_found');
  assert.equal((await call<Subscriptions>('GET', '/v1/notifications/subscriptions')).body.items.length, 1, 'still there');

  // Its owner can; then it is gone, with its deliveries.
  assert.equal((await call('DELETE', `/v1/notifications/subscriptions/${id}`)).status, 204);
  expectError(await call('DELETE', `/v1/notifications/subscriptions/${id}`), 404, 'not_found');
  assert.deepEqual((await call<Subscriptions>('GET', '/v1/notifications/subscriptions')).body, { items: [] });
  assert.deepEqual((await call<Deliveries>('GET', '/v1/notifications/deliveries')).body, { items: [] });
});

test('subscriptions: bodies are checked; an Idempotency-Key makes a repeat answer the same subscription', async () => {
  const call = apiClient(h.app, (await h.tenant('subs')).token);
  const post = (body: unknown, headers?: Record<string, string>) =>
    call<SubscriptionCreated>('POST', '/v1/notifications/subscriptions', { body, ...(headers ? { headers } : {}) });

  expectError(await post({ url: 'ftp://example.com/hook', topics: ['failures'] }), 400, 'invalid_request');
  expectError(await post({ url: 'not a url', topics: ['failures'] }), 400, 'invalid_request');
  expectError(await post({ url, topics: [] }), 400, 'invalid_request');
  expectError(await post({ url, topics: ['everything'] }), 400, 'invalid_request');
  expectError(await post({ url, topics: ['failures'], secret: 'mine' }), 400, 'invalid_request');
  expectError(await post({ url }), 400, 'invalid_request');

  const key = { 'idempotency-key': uniqueName('key') };
  const first = await post({ url, topics: ['upgrades', 'failures'] }, key);
  assert.equal(first.status, 201, JSON.stringify(first.body));
  const repeat = await post({ url, topics: ['failures', 'upgrades'] }, key);
  assert.equal(repeat.status, 201);
  assert.equal(repeat.headers['idempotent-replayed'], 'true');
  assert.deepEqual(repeat.body, first.body);
  expectError(await post({ url, topics: ['deletions'] }, key), 422, 'idempotency_key_reused');

  const another = await post({ url, topics: ['maintenance', 'maintenance'] });
  assert.equal(another.status, 201);
  assert.deepEqual(another.body.topics, ['maintenance']);
  assert.notEqual(another.body.secret, first.body.secret);
  assert.deepEqual((await call<Subscriptions>('GET', '/v1/notifications/subscriptions')).body.items.map((item) => item.id).sort(), [first.body.id, another.body.id].sort());
  expectError(await call('DELETE', '/v1/notifications/subscriptions/no-such-id'), 404, 'not_found');
});
