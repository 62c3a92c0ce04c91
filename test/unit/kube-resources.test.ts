import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { operationLabel } from '../../src/activities/kubernetes/resources.js';
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
  assert.equal(operationLabel('maintenance-window-tq-rshg6lnr-saturday-15-44-2s-2026-12-07T17-52-10Z'), 'maintenance-window-tq-rshg6lnr-saturday-15-44-2s-2026-12-07T17');
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
