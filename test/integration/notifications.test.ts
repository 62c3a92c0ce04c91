import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, sign } from '../../src/activities/notifications/activities.js';
import { annotateClaim, get } from '../support/kube.js';
import { FAST_SETTINGS, eventually, runInProcessWorker, send, startHarness, startInstance, waitForState, workerEnv, type Harness } from '../support/lifecycle.js';

// Webhook notifications, delivered from a workflow: signed, retried, and not lost when the worker
// that was delivering them goes away.

interface Received {
  body: { text: string; claimflow: { topic: string; event: { type: string; seq: number } } };
  signatureValid: boolean;
}

let harness: Harness;
let receiver: Server;
let url: string;
const received: Received[] = [];
let refuseNext = 0;
const SECRET = 'test-signing-secret';

before(async () => {
  harness = await startHarness({ inProcessWorker: false });
  receiver = createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    request.on('end', () => {
      if (refuseNext > 0) {
        refuseNext--;
        response.writeHead(503).end();
        return;
      }
      const timestamp = String(request.headers[TIMESTAMP_HEADER]);
      received.push({ body: JSON.parse(raw), signatureValid: request.headers[SIGNATURE_HEADER] === sign(SECRET, timestamp, raw) });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const address = receiver.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;
});
after(async () => {
  await harness.stop();
  await new Promise((resolve) => receiver.close(resolve));
});

const runWorker = () => runInProcessWorker(workerEnv(harness.taskQueue));

describe('webhook notifications', () => {
  test('a tenant gets signed notifications for failures and upgrades, also across a worker restart', async () => {
    let stopWorker = await runWorker();
    const instance = await startInstance(harness, { version: '15.10' }, FAST_SETTINGS);
    await harness.pool.query('INSERT INTO notification_subscriptions (id, tenant, url, topics, secret) VALUES ($1, $2, $3, $4, $5)', [
      randomUUID(), instance.tenant, url, ['failures', 'upgrades'], SECRET,
    ]);
    await eventually('the claim', async () => ((await get('postgresqlinstances', instance.namespace, instance.name)) ? true : undefined));
    await annotateClaim(instance.namespace, instance.name, { 'fail-ops': 'restart' });
    await waitForState(instance, 'Ready', (state) => state.phase === 'ready' && !state.runningOperation);

    await send(instance, { kind: 'restart' });
    await eventually('the failure notification', () => (received.some((r) => r.body.claimflow.event.type === 'OperationFailed') ? true : undefined));

    // The receiver is down and the worker goes away while the upgrade's notification is pending.
    refuseNext = 2;
    await send(instance, { kind: 'upgrade', version: '15.13' });
    await stopWorker();
    stopWorker = await runWorker();
    await eventually('the upgrade notification after the restart', () => (received.some((r) => r.body.claimflow.event.type === 'UpgradeCompleted') ? true : undefined), 90_000);
    await stopWorker();

    const mine = received.filter((r) => r.body.text.includes(instance.name));
    assert.deepEqual(mine.map((r) => r.body.claimflow.event.type), ['OperationFailed', 'UpgradeCompleted']);
    assert.ok(mine.every((r) => r.signatureValid), 'every delivery carries a valid HMAC signature');
    assert.match(mine[1]!.body.text, /UpgradeCompleted to 15\.13/);
    const deliveries = await harness.pool.query('SELECT event_type, status, attempts FROM notification_deliveries ORDER BY seq');
    const upgrade = deliveries.rows.find((row) => row.event_type === 'UpgradeCompleted');
    assert.equal(upgrade?.status, 'delivered');
    assert.ok(upgrade.attempts >= 3, 'the refused attempts were retried');
  });

  test('an instance whose tenant watches nothing starts no delivery workflow', async () => {
    const stopWorker = await runWorker();
    try {
      const instance = await startInstance(harness, { version: '15.10' }, FAST_SETTINGS);
      await waitForState(instance, 'Ready', (state) => state.phase === 'ready' && !state.runningOperation);
      await send(instance, { kind: 'upgrade', version: '15.13' });
      await waitForState(instance, 'upgraded', (state) => state.version === '15.13' && !state.runningOperation);
      const history = await instance.handle.fetchHistory();
      const children = (history.events ?? []).filter((event) => event.startChildWorkflowExecutionInitiatedEventAttributes);
      assert.equal(children.length, 0, 'UpgradeCompleted is notable, but no subscription of the tenant watches it');
    } finally {
      await stopWorker();
    }
  });
});
