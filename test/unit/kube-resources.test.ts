import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { LABELS, madeByOperation, operationLabel } from '../../src/activities/kubernetes/resources.js';
import { DAYS_OF_WEEK, maintenanceWindowKey } from '../../src/domain/index.js';
import { windowScheduleId } from '../../src/workflows/messages.js';

// Kubernetes' rule for a label value (apimachinery's validation).
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

test('an operation id becomes a label value the API server accepts, whatever the id', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 120, unit: fc.constantFrom('a', 'Z', '7', '-', '_', '.', '/', ':', ' ', 'é') }), (id) => {
      const label = operationLabel(id);
      assert.ok(label.length <= 63 && LABEL_VALUE.test(label), `${JSON.stringify(id)} -> ${JSON.stringify(label)}`);
    }),
    { numRuns: 2000 },
  );
});

test('an id that was a valid label already keeps its value (objects made before are still recognised as ours)', () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/), (id) => assert.equal(operationLabel(id), id)),
  );
  assert.equal(operationLabel('manual/acme/orders/0f5c'), 'manual-acme-orders-0f5c');
});

test("ids too long for a label keep their beginning and end in a hash of the whole id: one window's runs label each instance's objects apart", () => {
  const run = 'maintenance-window-tq-rshg6lnr-saturday-15-44-2s-2026-12-07T17:52:10Z';
  const orders = operationLabel(`${run}/instance/acme/orders`);
  const billing = operationLabel(`${run}/instance/acme/billing`);
  assert.match(orders, /^maintenance-window-tq-rshg6lnr-saturday-15-44-2s-2026-[0-9a-f]{8}$/);
  assert.notEqual(orders, billing);
  assert.equal(operationLabel(`${run}/instance/acme/orders`), orders);
  assert.match(operationLabel(`${'/'.repeat(70)}x`), /^[0-9a-f]{8}$/);
});

test('an object is taken as made by an operation by its annotation, or by its label where it has none (objects made before either way)', () => {
  const operationId = 'maintenance-window-tq-rshg6lnr-saturday-15-44-2s-2026-12-07T17:52:10Z/instance/acme/orders';
  const other = 'maintenance-window-tq-rshg6lnr-saturday-15-44-2s-2026-12-07T17:52:10Z/instance/acme/billing';
  const labelled = (label: string) => ({ metadata: { labels: { [LABELS.operation]: label } } });
  const annotated = (id: string) => ({ metadata: { labels: { [LABELS.operation]: operationLabel(id) }, annotations: { [LABELS.operation]: id } } });

  assert.ok(madeByOperation(annotated(operationId), operationId));
  assert.ok(!madeByOperation(annotated(other), operationId));
  assert.ok(madeByOperation(labelled(operationLabel(operationId)), operationId));
  // the cut label written before long ids were hashed
  assert.ok(madeByOperation(labelled('maintenance-window-tq-rshg6lnr-saturday-15-44-2s-2026-12-07T17'), operationId));
  assert.ok(!madeByOperation(labelled(operationLabel(other)), operationId));
  assert.ok(!madeByOperation({ metadata: {} }, operationId));
  assert.ok(madeByOperation(labelled('op-1'), 'op-1'));
});

test("every window's scheduled run id, as a Temporal Schedule names it, labels its objects validly (a Tuesday hour's used to end in '-')", () => {
  for (const dayOfWeek of DAYS_OF_WEEK) {
    for (let hour = 0; hour < 24; hour++) {
      for (const durationMinutes of [30, 60, 90, 120, 240, 480]) {
        const time = `${String(hour).padStart(2, '0')}:30`;
        const window = { dayOfWeek, timeOfDay: time, durationMinutes };
        // a Schedule's workflow id is its action's id and the scheduled time; the instance's run adds itself
        const runId = `${windowScheduleId('claimflow', maintenanceWindowKey(window))}-2026-12-08T${time}:00Z/instance/acme/orders`;
        assert.match(operationLabel(runId), LABEL_VALUE, runId);
      }
    }
  }
});
